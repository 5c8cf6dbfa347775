"""``Item.extra`` is typed and still stored as the same JSON: rows written by earlier releases load
into the typed parts, and an item writes the JSON the dict-shaped writers wrote, key for key."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Text, cast, insert, select

from monitor.models import CapAlert, Item, ItemExtra, OfficialAdvisory
from monitor.store import PollWrite, Store, StoredEntry
from monitor.store import schema as t

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# ``extra`` as the dict-shaped writers wrote it (feed parsing, each official preset, change items).
OLD_ROWS: dict[str, dict[str, Any]] = {
    "gdacs": {
        "category_domains_all": {"Country-Tag": ["AZ", "AM"]},
        "geometry": {"type": "Polygon", "coordinates": [[[49.7, 40.3], [50.05, 40.3], [50.05, 40.55], [49.7, 40.3]]]},
        "gdacs_eventtype": "EQ", "gdacs_eventid": "1347961", "gdacs_episodeid": "3", "gdacs_alertlevel": "Orange",
        "gdacs_iso3": "AZE", "gdacs_bbox": "44.0 46.0 39.0 41.0", "media_content": {"url": "https://x/y.png"},
        "enclosures": [{"href": "https://x/y.png", "type": "image/png"}, {"href": "https://x/z"}],
        "advisory": {"issuer": "gdacs", "country": "AZ", "level": 3, "parts": True, "label": "Orange earthquake alert",
                     "scope": "event"},
    },
    "us": {"advisory": {"issuer": "us", "country": "GP", "level": 2, "parts": False,
                        "label": "Level 2: Exercise Increased Caution", "scope": "country",
                        "also": ["MQ", "MF", "BL"]}},
    "cap": {
        "cap": {"identifier": "NWS-1", "sender": "w-nws@noaa.gov", "msgType": "Update", "references": ["a,b,c"],
                "areas": [{"desc": "Absheron", "polygons": [[[40.3, 49.7], [40.55, 49.7], [40.55, 50.05]]],
                           "circles": [{"lat": 40.4, "lon": 49.8, "radius_km": 12.5}], "geocodes": {"FIPS6": "1"}}],
                "instruction": "Keep away from low-lying roads."},
        "advisory": {"issuer": "nws", "country": None, "level": 3, "parts": True,
                     "label": "Severe Flood Warning (Immediate urgency, Likely certainty)", "scope": "event"},
    },
    "cap-inline": {"cap": {"msgType": "Alert", "areas": [{"desc": "Coastal Baku"}]}},
    "fcdo": {
        "advisory": {"issuer": "fcdo", "country": "ML", "level": 4, "parts": False,
                     "label": "Advise against all travel to the whole country", "scope": "country"},
        "fcdo": {"alert_status": ["avoid_all_travel_to_whole_country"], "change_description": "Latest update",
                 "update_type": None, "parts": ["Summary", "Terrorism"]},
    },
    "change": {
        "advisory": {"issuer": "us", "country": "AZ", "level": 4, "parts": False, "label": "Level 4"},
        "advisory_change": {"change": "raised", "old": 3, "new": 4, "old_parts": False, "parts": False,
                            "old_label": "Level 3", "label": "Level 4", "issuer": "us", "country": "AZ",
                            "observed_at": "2026-03-01T12:00:00+00:00", "advisory_item": None},
    },
    # A feed's own elements that happen to share a part's name stay what they were.
    "lookalike": {"advisory": "Travel advisory in effect", "cap": {"note": "n/a"}, "fcdo": "x"},
    "empty": {},
}


def _item(key: str, extra: Any) -> Item:
    return Item(id=key, source="news", title=key, text="text", first_seen=NOW, content_hash=key, extra=extra)


def _raw_row(key: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {"id": key, "source": "news", "title": key, "text": "text", "first_seen": NOW, "categories": [],
            "category_domains": {}, "points": [], "extra": extra, "content_hash": key}


@pytest.mark.parametrize("key", sorted(OLD_ROWS))
def test_old_shapes_read_back_key_for_key(key: str) -> None:
    extra = ItemExtra.from_json(OLD_ROWS[key])
    assert list(extra.to_json().items()) == list(OLD_ROWS[key].items())
    assert _item(key, OLD_ROWS[key]).model_dump(mode="json")["extra"] == OLD_ROWS[key]


def test_rows_stored_by_earlier_releases_load_typed(database_url: str) -> None:
    store = Store.open(database_url)
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(t.items), [_raw_row(key, extra) for key, extra in OLD_ROWS.items()])
        items = {item.id: item for item in store.list_items()}
    finally:
        store.close()
    assert {key: item.extra.to_json() for key, item in items.items()} == OLD_ROWS
    gdacs = items["gdacs"].extra
    assert gdacs.advisory == OfficialAdvisory(issuer="gdacs", country="AZ", level=3, parts=True,
                                              label="Orange earthquake alert", scope="event")
    assert gdacs.gdacs.event_id == "1347961" and gdacs.gdacs.bbox == "44.0 46.0 39.0 41.0"
    assert gdacs.geometry is not None and gdacs.geometry.type == "Polygon"
    assert [e.type for e in gdacs.enclosures or []] == ["image/png", None]
    assert items["us"].extra.advisory is not None and items["us"].extra.advisory.also == ["MQ", "MF", "BL"]
    cap = items["cap"].extra.cap
    assert isinstance(cap, CapAlert) and cap.msg_type == "Update" and cap.instruction
    assert cap.areas and cap.areas[0].circles and cap.areas[0].circles[0].radius_km == 12.5
    assert items["fcdo"].extra.fcdo is not None and items["fcdo"].extra.fcdo.update_type is None
    change = items["change"].extra
    assert change.advisory is not None and change.advisory.scope is None and change.advisory.country_level
    assert change.advisory_change is not None and (change.advisory_change.old, change.advisory_change.new) == (3, 4)
    lookalike = items["lookalike"].extra
    assert lookalike.advisory is None and lookalike.cap is None and lookalike.fcdo is None
    assert lookalike["advisory"] == "Travel advisory in effect" and "cap" in lookalike


def test_items_store_the_json_the_dict_shaped_writers_stored(database_url: str) -> None:
    store = Store.open(database_url)
    try:
        store.write_poll(PollWrite(state=store.source_state("news"), new=[
            StoredEntry(_item(key, ItemExtra.from_json(extra)), None, False) for key, extra in OLD_ROWS.items()]))
        with store.engine.connect() as conn:
            stored = dict(conn.execute(select(t.items.c.id, cast(t.items.c.extra, Text))).all())
    finally:
        store.close()
    assert stored == {key: json.dumps(extra) for key, extra in OLD_ROWS.items()}
