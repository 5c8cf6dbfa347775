"""What the commands say when their answer would otherwise mislead: items not classified yet."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_after_ingest_alerts_test_and_preview_say_items_wait_for_classification(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    for seed in (ROOT / "seeds").glob("*.txt"):
        shutil.copy(seed, articles)
    config = tmp_path / "config.yaml"
    config.write_text(f"database: sqlite:///{tmp_path}/m.db\nsources: [{{name: s, kind: files, path: articles}}]\n"
                      "alerts: [{name: az, match: {regions: [AZ]}, max_age: null, "
                      "deliver: [{kind: file, path: out}]}]\n", encoding="utf-8")
    assert main(["ingest", "--config", str(config)]) == 0
    assert "not classified yet" in capsys.readouterr().err
    for command in (["alerts", "test", "az"], ["digest", "preview", "az"]):
        assert main([*command, "--config", str(config)]) == 0
        assert "note: 2 stored items are not classified yet" in capsys.readouterr().err
    assert main(["once", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["alerts", "test", "az", "--config", str(config)]) == 0
    captured = capsys.readouterr()
    assert "not classified" not in captured.err and "2 items match alert 'az'" in captured.out
