"""``items`` filters read regions and threats as alert rules do; an unknown one is a usage error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from monitor.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("items")
    articles = folder / "articles"
    articles.mkdir()
    for seed in (ROOT / "seeds").glob("*.txt"):
        shutil.copy(seed, articles)
    path = folder / "config.yaml"
    path.write_text(f"database: sqlite:///{folder}/m.db\nsources:\n  - {{name: seeds, kind: files, path: articles}}\n",
                    encoding="utf-8")
    assert main(["once", "--config", str(path)]) == 0
    return path


def _ids(config: Path, capsys: pytest.CaptureFixture[str], *options: str) -> set[str]:
    capsys.readouterr()
    assert main(["items", "--config", str(config), "--format", "json", *options]) == 0
    return {json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()}


def test_a_region_is_an_id_a_code_in_any_case_or_a_name(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    by_id = _ids(config, capsys, "--region", "AZ")
    assert len(by_id) == 2
    assert _ids(config, capsys, "--region", "az") == by_id
    assert _ids(config, capsys, "--region", "Azerbaijan") == by_id
    # A city: only the article that names it; its country's filter holds it too.
    baku = _ids(config, capsys, "--region", "Baku")
    assert baku and baku < by_id


def test_a_threat_in_any_case_or_with_spaces(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    by_id = _ids(config, capsys, "--threat", "armed_conflict")
    assert by_id
    assert _ids(config, capsys, "--threat", "Armed conflict") == by_id


@pytest.mark.parametrize(("option", "value", "said"), [
    ("--region", "Nowhereland", "unknown region 'Nowhereland'"),
    ("--region", "Georgia", "GE (Georgia, country)"),  # ambiguous: the candidates, as alert rules list them
    ("--threat", "bogus", "unknown threat 'bogus' (known: armed_conflict"),
    ("--threat", "terorism", "did you mean 'terrorism'?"),
])
def test_an_unknown_or_ambiguous_filter_is_a_usage_error(config: Path, capsys: pytest.CaptureFixture[str],
                                                         option: str, value: str, said: str) -> None:
    capsys.readouterr()
    assert main(["items", "--config", str(config), option, value]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and said in captured.err and option in captured.err
