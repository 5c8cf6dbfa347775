"""Sites and trips through the dispatcher on a real SQLite store: what each alert sends, the
traveller's digest grouped by leg with official levels, and the ``trips`` command."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main
from monitor.dispatch.dispatcher import Dispatcher
from monitor.models import Classification, GeoPoint, Item, RegionHit, Severity, ThreatHit
from monitor.store import LevelRow, LevelWrite, PollWrite, Store, StoredEntry, write_levels
from tests.travel_fixtures import travel_config

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)
PLACES = {"baku": ("baku-az", "Baku", "city", "AZ"), "ganja": ("ganja-az", "Ganja", "city", "AZ"),
          "tbilisi": ("tbilisi-ge", "Tbilisi", "city", "GE"), "yerevan": ("yerevan-am", "Yerevan", "city", "AM"),
          "az": ("AZ", "Azerbaijan", "country", "AZ")}


@pytest.fixture(scope="module")
def engine() -> Any:
    from monitor.classify.engine import load_engine

    return load_engine()


def body(tmp_path: Path) -> str:
    day = lambda n: (NOW + n * DAY).date().isoformat()  # noqa: E731
    return f"""
sites:
  - {{name: baku-office, at: {{lat: 40.4093, lon: 49.8671}}, radius: 50km}}
travel:
  trips:
    - name: caucasus-tour
      traveller: Test Traveller
      deliver: [{{kind: file, path: {tmp_path}/out/trip}}]
      legs:
        - {{place: AZ, from: {day(-2)}, to: {day(5)}}}
        - {{place: GE, from: {day(-20)}, to: {day(-10)}}}
        - {{place: AM, from: {day(2)}, to: {day(9)}}}
alerts:
  - name: office
    match: {{sites: [baku-office]}}
    schedule: immediate
    deliver: [{{kind: file, path: {tmp_path}/out/site}}]
"""


def add(store: Store, key: str, title: str, place: str, *, points: tuple[GeoPoint, ...] = (),
        extra: dict[str, Any] | None = None, published: datetime | None = None) -> None:
    rid, name, kind, country = PLACES[place]
    item = Item(id=key, source="news", title=title, text=f"{title}.", first_seen=NOW, content_hash=key,
                points=list(points), extra=extra or {}, published=published)
    store.write_poll(PollWrite(state=store.source_state("news"), new=[StoredEntry(item, None, False)]))
    cls = Classification(item_id=key, title=title, source="news", countries=[country], severity=Severity.medium,
                         threats=[ThreatHit(type="civil_unrest", score=1.0)],
                         regions=[RegionHit(id=rid, name=name, kind=kind, country=country, role="primary")],
                         rules_version="test")
    regions = [rid, country, "western-asia", "asia"] if rid != country else [rid, "western-asia", "asia"]
    store.save_classifications([(cls, regions)])


def text_part(folder: Path) -> str:
    message = email.message_from_bytes(next(folder.iterdir()).joinpath("message.eml").read_bytes(),
                                       policy=email.policy.default)
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def sent(folder: Path) -> list[dict[str, Any]]:
    return [json.loads((d / "digest.json").read_text()) for d in sorted(folder.iterdir())] if folder.exists() else []


def test_each_alert_gets_its_items_and_the_trip_digest_is_grouped_by_leg(tmp_path: Path, engine: Any,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    config = travel_config(tmp_path, body(tmp_path))
    store = Store.open(config.database)
    try:
        add(store, "baku", "Explosion in Baku", "baku")
        add(store, "ganja", "Protest in Ganja", "ganja")
        # Dated before the AZ leg's window opened, but it reaches the monitor while the leg is current.
        add(store, "ganja-old", "Clashes near Ganja", "ganja", published=NOW - 6 * DAY)
        add(store, "tbilisi", "Protest in Tbilisi", "tbilisi")
        add(store, "yerevan", "Rally in Yerevan", "yerevan")
        add(store, "quake", "Earthquake near Absheron", "az", points=[GeoPoint(lat=40.25, lon=49.55)])
        add(store, "flood", "Flood warning for Absheron", "az", extra={"cap": {
            "instruction": "Keep away from low-lying roads.",
            "areas": [{"polygons": [[[40.3, 49.7], [40.55, 49.7], [40.55, 50.05], [40.3, 50.05], [40.3, 49.7]]]}]}})
        with store.transaction() as conn:
            write_levels(conn, LevelWrite(insert=[LevelRow("us-state-dept", "AZ", 2, True, "Exercise increased caution",
                                                           NOW - 30 * DAY, NOW)]))
        asyncio.run(Dispatcher(config, store, engine=engine, clock=lambda: NOW).run(force=True))
    finally:
        store.close()
    [site] = sent(tmp_path / "out" / "site")
    assert sorted(i["id"] for i in site["items"]) == ["baku", "flood", "quake"]
    [trip] = sent(tmp_path / "out" / "trip")
    assert sorted(i["id"] for i in trip["items"]) == ["baku", "flood", "ganja", "ganja-old", "quake", "yerevan"]
    assert [(leg["place"], leg["state"], leg["level"]) for leg in trip["legs"]] == [("AZ", "active", 2),
                                                                                  ("AM", "upcoming", None)]
    text = text_part(tmp_path / "out" / "trip")
    assert "== Azerbaijan," in text and "Official level now: 2 (us-state-dept: Exercise increased caution)" in text
    assert "What to do: Keep away from low-lying roads." in text
    assert "32 km from baku-office" in text_part(tmp_path / "out" / "site")

    assert main(["trips", "--config", str(config.path), "--format", "json"]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["name"] == "caucasus-tour" and row["items_sent"] == 6
    assert [leg["state"] for leg in row["legs"]] == ["active", "past", "upcoming"]
    assert main(["trips", "--config", str(config.path)]) == 0
    out = capsys.readouterr().out
    assert "caucasus-tour (Test Traveller): 6 items sent" in out and "past" in out and "Georgia (GE)" in out


def test_a_trip_template_in_the_templates_folder_replaces_the_shipped_one(tmp_path: Path, engine: Any) -> None:
    templates = tmp_path / "my-templates"
    templates.mkdir()
    (templates / "trip.txt").write_text("Trip {{ trip }} for {{ traveller }}: {{ count }} items\n"
                                        "{% for leg in legs %}- {{ leg.name }}\n{% endfor %}", encoding="utf-8")
    config = travel_config(tmp_path, f"templates: {templates}\n" + body(tmp_path))
    store = Store.open(config.database)
    try:
        add(store, "baku", "Explosion in Baku", "baku")
        asyncio.run(Dispatcher(config, store, engine=engine, clock=lambda: NOW).run(force=True))
    finally:
        store.close()
    text = text_part(tmp_path / "out" / "trip")
    assert text.startswith("Trip caucasus-tour for Test Traveller: 1 items") and "- Azerbaijan" in text
