"""``incidents``: `once` groups what it classifies; list, show and JSON; mute, ack, close, merge and
split with who and when; ``items --format json`` names each item's incident."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli import main
from tests.incidents.reports import REPORTS


@pytest.fixture
def config(tmp_path: Path) -> Path:
    articles = tmp_path / "articles"
    articles.mkdir()
    # Files carry no dates: every report counts from when it was first stored (all within the window).
    for key in ("istiklal-wire", "istiklal-ap", "istiklal-bbc", "kadikoy-bomb", "porto-alegre-flood"):
        _, _, title, text = REPORTS[key]
        (articles / f"{key}.txt").write_text(f"{title}\n\n{text}\n", encoding="utf-8")
    path = tmp_path / "config.yaml"
    path.write_text(f"database: sqlite:///{tmp_path}/m.db\nsources:\n  - {{name: desk, kind: files, path: articles}}\n"
                    "alerts:\n  - name: turkey\n    match: {regions: [TR]}\n    deliver:\n"
                    f"      - {{kind: file, path: {tmp_path}/out}}\n", encoding="utf-8")
    assert main(["once", "--config", str(path)]) == 0
    return path


def _json(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    capsys.readouterr()
    assert main(["incidents", *args, "--config", str(config), "--format", "json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def _by_title(rows: list[dict[str, object]], word: str) -> dict[str, object]:
    [row] = [r for r in rows if word in str(r["title"])]
    return row


def test_once_groups_and_incidents_lists_them_as_json(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _json(config, capsys)
    assert len(rows) == 3
    istiklal = _by_title(rows, "Istiklal")
    assert {"id", "title", "state", "breaking", "countries", "regions", "threats", "severity", "first_seen",
            "last_seen", "sources", "items"} <= istiklal.keys()
    assert istiklal["countries"] == ["TR"] and istiklal["regions"] == ["istanbul-tr"]
    assert istiklal["threats"] == ["terrorism"] and istiklal["state"] == "open"
    assert len(istiklal["items"]) == 3  # type: ignore[arg-type]
    brazil = _json(config, capsys, "--region", "Brazil")
    assert [r["title"] for r in brazil] == ["Floods in Brazil's Porto Alegre kill 12"]
    capsys.readouterr()
    assert main(["items", "--config", str(config), "--format", "json"]) == 0
    items = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {i["id"] for i in items if i["incident_id"] == istiklal["id"]} == set(istiklal["items"])  # type: ignore[arg-type]


def test_mute_ack_close_are_recorded_with_who_and_when(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    istiklal = _by_title(_json(config, capsys), "Istiklal")
    ident = str(istiklal["id"])
    assert main(["incidents", "mute", ident[:6], "--for", "24h", "--by", "desk-a", "--config", str(config)]) == 0
    assert [r["id"] for r in _json(config, capsys, "--state", "muted")] == [ident]
    assert main(["incidents", "ack", ident, "--by", "desk-b", "--config", str(config)]) == 0
    assert main(["incidents", "close", ident, "--by", "desk-b", "--config", str(config)]) == 0
    [shown] = _json(config, capsys, "show", ident)
    assert shown["state"] == "closed" and shown["acknowledged"] is True
    timeline = [(e["kind"], e["actor"]) for e in shown["timeline"]]  # type: ignore[union-attr]
    assert timeline[-3:] == [("mute", "desk-a"), ("ack", "desk-b"), ("close", "desk-b")]
    still_open = {r["id"] for r in _json(config, capsys, "--state", "open")}
    assert still_open and ident not in still_open


def test_merge_needs_force_across_countries_and_split_undoes_it(config: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    rows = _json(config, capsys)
    istiklal, kadikoy, flood = (str(_by_title(rows, w)["id"]) for w in ("Istiklal", "ferry", "Floods"))
    capsys.readouterr()
    assert main(["incidents", "merge", istiklal, flood, "--config", str(config)]) == 2
    assert "different countries" in capsys.readouterr().err
    assert main(["incidents", "merge", istiklal, kadikoy, "--config", str(config)]) == 0
    merged = _json(config, capsys)
    assert len(merged) == 2 and len(_by_title(merged, "Istiklal")["items"]) == 4  # type: ignore[arg-type]
    survivor = str(_by_title(merged, "Istiklal")["id"])
    assert main(["incidents", "split", survivor, "kadikoy-bomb", "--config", str(config)]) == 2  # not an item id
    item = next(i for i in _by_title(merged, "Istiklal")["items"] if i not in _by_title(rows, "Istiklal")["items"])  # type: ignore[union-attr]
    assert main(["incidents", "split", survivor, str(item), "--config", str(config)]) == 0
    assert len(_json(config, capsys)) == 3


def test_unknown_ids_are_usage_errors(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["incidents", "show", "nope", "--config", str(config)]) == 2
    assert "no incident has the id 'nope'" in capsys.readouterr().err
    assert main(["incidents", "mute", "--config", str(config)]) == 2
