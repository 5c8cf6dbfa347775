"""Digests speak in incidents: an event told by three outlets is one entry "reported by 3 sources";
a later report that raises the toll is one update entry (marked in the text, the JSON and the file
target); a later report that changes nothing sends nothing; a muted incident sends nothing. Real
classifier, real store (SQLite and PostgreSQL), real file target."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from monitor.classify import Engine
from monitor.config import Config, IncidentsConfig, parse_config
from monitor.dispatch import Dispatcher
from monitor.incidents import Grouper, IncidentActions
from monitor.store import Incidents, Store
from tests.incidents.test_grouping import classified, save

NOW = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)


def config(tmp_path: Path, match: str = "{regions: [TR], threats: [terrorism]}") -> Config:
    text = f"""
sources: [{{name: news, kind: files, path: {tmp_path}/articles}}]
alerts:
  - name: turkey
    match: {match}
    max_age: null
    deliver:
      - {{kind: file, path: {tmp_path}/out}}
"""
    return parse_config(text, str(tmp_path / "config.yaml"), base=tmp_path)


def arrive(engine: Engine, store: Store, *keys: str, grouping: IncidentsConfig | None = None) -> None:
    pairs = classified(engine, list(keys))
    save(store, pairs)
    Grouper(Incidents(store), grouping or IncidentsConfig()).group(pairs)


def send(cfg: Config, store: Store) -> list[dict[str, object]]:
    """One `once`-like pass; the JSON payloads of the digests it wrote."""
    outcomes = asyncio.run(Dispatcher(cfg, store, clock=lambda: NOW).run(force=True))
    out = []
    for outcome in outcomes:
        if outcome.digest_id:
            folder = Path(str(cfg.alerts[0].deliver[0].path)) / outcome.digest_id  # type: ignore[union-attr]
            out.append(json.loads((folder / "digest.json").read_text(encoding="utf-8")))
            out[-1]["_text"] = (folder / "message.eml").read_text(encoding="utf-8")
    return out


def test_one_entry_per_incident_then_one_update_when_it_escalates(engine: Engine, store: Store,
                                                                    tmp_path: Path) -> None:
    cfg = config(tmp_path)
    arrive(engine, store, "istiklal-wire", "istiklal-ap", "istiklal-bbc", "porto-alegre-flood")
    [first] = send(cfg, store)
    [entry] = first["items"]  # type: ignore[misc]
    assert entry["update"] is False and entry["reported_by"] == 3
    assert entry["sources"] == ["agency", "broadcaster", "wire"]
    assert "Reported by 3 sources" in str(first["_text"]) and "Update:" not in str(first["_text"])
    incident = entry["incident_id"]
    assert send(cfg, store) == []  # nothing new
    arrive(engine, store, "istiklal-toll")
    [update] = send(cfg, store)
    [entry] = update["items"]  # type: ignore[misc]
    assert entry["incident_id"] == incident and entry["update"] is True
    assert entry["changed"]["casualties"] == [6, 8] and entry["id"] == "istiklal-toll"
    assert "Update: death toll rises to 8" in str(update["_text"])
    assert send(cfg, store) == []  # the update went once


def test_a_report_that_changes_nothing_sends_nothing(engine: Engine, store: Store, tmp_path: Path) -> None:
    cfg = config(tmp_path)
    arrive(engine, store, "istiklal-wire", "istiklal-ap")
    assert len(send(cfg, store)) == 1
    arrive(engine, store, "istiklal-bbc")  # same toll, same severity, same place
    assert send(cfg, store) == []


def test_a_muted_incident_sends_nothing(engine: Engine, store: Store, tmp_path: Path) -> None:
    cfg = config(tmp_path)
    arrive(engine, store, "istiklal-wire")
    incidents = Incidents(store)
    [row] = incidents.listing()
    IncidentActions(incidents, Grouper(incidents, IncidentsConfig())).mute(row.id, "desk", alert="turkey")
    arrive(engine, store, "istiklal-ap", "istiklal-toll", "kadikoy-bomb")
    [digest] = send(cfg, store)
    assert [e["id"] for e in digest["items"]] == ["kadikoy-bomb"]  # type: ignore[index, union-attr]


def test_an_alert_on_breaking_incidents_gets_one_once_its_sources_grow_fast(engine: Engine, store: Store,
                                                                          tmp_path: Path) -> None:
    cfg = config(tmp_path, "{regions: [TR], breaking: true}")
    grouping = IncidentsConfig.model_validate({"breaking": {"sources": 3, "within": "90m"}})
    arrive(engine, store, "istiklal-wire", "istiklal-ap", "kadikoy-bomb", grouping=grouping)
    assert send(cfg, store) == []  # two sources so far; Kadikoy has one
    arrive(engine, store, "istiklal-bbc", grouping=grouping)
    [digest] = send(cfg, store)
    [entry] = digest["items"]  # type: ignore[misc]
    assert entry["reported_by"] == 3 and entry["update"] is False


def test_a_mute_unless_escalated_lets_the_escalation_through(engine: Engine, store: Store, tmp_path: Path) -> None:
    cfg = config(tmp_path)
    arrive(engine, store, "istiklal-wire")
    assert len(send(cfg, store)) == 1
    incidents = Incidents(store)
    [row] = incidents.listing()
    IncidentActions(incidents, Grouper(incidents, IncidentsConfig())).mute(row.id, "desk", unless_escalated=True)
    arrive(engine, store, "istiklal-ap")  # nothing new, and muted
    assert send(cfg, store) == []
    arrive(engine, store, "istiklal-toll")  # the toll rises: it passes the mute
    [digest] = send(cfg, store)
    assert [(e["id"], e["update"]) for e in digest["items"]] == [("istiklal-toll", True)]  # type: ignore[index, union-attr]
