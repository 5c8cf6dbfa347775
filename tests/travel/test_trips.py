"""Trips: legs current (with their lead) get their places' items, the folder's YAML and .ics trips,
per-file errors, the last good version of a broken file, and located config errors."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.alerts import ItemFacts, compile_rules
from monitor.errors import ConfigError
from monitor.travel.itinerary import parse_ics
from monitor.travel.trips import plan, resolve_location
from tests.travel_fixtures import gazetteer, travel_config

NOW = datetime(2024, 3, 10, 12, tzinfo=UTC)
BAKU = frozenset({"baku-az", "AZ", "western-asia", "asia"})
GANJA = frozenset({"ganja-az", "AZ", "western-asia", "asia"})
TBILISI = frozenset({"tbilisi-ge", "GE", "western-asia", "asia"})
YEREVAN = frozenset({"yerevan-am", "AM", "western-asia", "asia"})
ALMATY = frozenset({"almaty-kz", "KZ", "central-asia", "asia"})

TRIP = """
travel:
  lead: 3d
  deliver: [{kind: file, path: out/desk}]
  trips:
    - name: caucasus-tour
      traveller: Test Traveller
      deliver: [{kind: file, path: out/trip}]
      legs:
        - {place: AZ, from: 2024-03-08, to: 2024-03-15}
        - {place: Georgia, from: 2024-02-19, to: 2024-02-29}
        - {place: AM, from: 2024-03-12, to: 2024-03-19}
"""


@pytest.fixture(scope="module")
def gaz() -> Any:
    return gazetteer()


def fact(item_id: str, regions: frozenset[str], dated: datetime = NOW, severity: int = 2) -> ItemFacts:
    return ItemFacts(item_id, "news", regions, frozenset({"civil_unrest"}), severity, dated)


def trip_matches(config: Any, gaz: Any, facts: list[ItemFacts], trip: str = "caucasus-tour") -> list[str]:
    travel = plan(config, gaz)
    matcher = compile_rules(travel.config, gaz)
    return [m.item_id for m in matcher.match(facts)[f"trip:{trip}"]]


def test_current_and_upcoming_legs_get_their_places_and_past_legs_nothing(tmp_path: Path, gaz: Any) -> None:
    config = travel_config(tmp_path, TRIP)
    facts = [fact("baku", BAKU), fact("ganja", GANJA), fact("tbilisi", TBILISI), fact("yerevan", YEREVAN),
             fact("almaty", ALMATY), fact("quiet", BAKU, severity=0)]
    assert trip_matches(config, gaz, facts) == ["baku", "ganja", "yerevan"]


def test_the_window_is_from_start_less_lead_to_the_end_day_inclusive(tmp_path: Path, gaz: Any) -> None:
    config = travel_config(tmp_path, TRIP)
    start = datetime(2024, 3, 12, tzinfo=UTC)  # the AM leg
    facts = [fact("before-lead", YEREVAN, start - timedelta(days=3, seconds=1)),
             fact("lead", YEREVAN, start - timedelta(days=3)),
             fact("last-day", YEREVAN, datetime(2024, 3, 19, 23, 59, tzinfo=UTC)),
             fact("after", YEREVAN, datetime(2024, 3, 20, tzinfo=UTC)),
             fact("tbilisi-then", TBILISI, datetime(2024, 2, 25, tzinfo=UTC))]
    assert trip_matches(config, gaz, facts) == ["lead", "last-day", "tbilisi-then"]


def test_what_arrives_while_a_leg_is_current_counts_not_the_date_it_carries(tmp_path: Path, gaz: Any) -> None:
    config = travel_config(tmp_path, TRIP)
    during = datetime(2024, 3, 16, 9, tzinfo=UTC)  # inside the AM leg, after the AZ leg
    facts = [
        # Published before the leg's window opened, first stored while it is current: the traveller hears of it.
        ItemFacts("old-news-new-to-us", "news", YEREVAN, frozenset({"civil_unrest"}), 2,
                  datetime(2024, 3, 1, tzinfo=UTC), seen=during),
        # Dated inside the AZ leg but first stored after it ended (a source that was down): nothing after.
        ItemFacts("late", "news", BAKU, frozenset({"civil_unrest"}), 2, datetime(2024, 3, 14, tzinfo=UTC),
                  seen=datetime(2024, 3, 17, tzinfo=UTC)),
        ItemFacts("on-time", "news", BAKU, frozenset({"civil_unrest"}), 2, datetime(2024, 3, 14, tzinfo=UTC),
                  seen=datetime(2024, 3, 14, 1, tzinfo=UTC)),
    ]
    assert trip_matches(config, gaz, facts) == ["old-news-new-to-us", "on-time"]


def test_why_and_legs_of_a_match(tmp_path: Path, gaz: Any) -> None:
    travel = plan(travel_config(tmp_path, TRIP), gaz)
    [match] = compile_rules(travel.config, gaz).match([fact("baku", BAKU)])["trip:caucasus-tour"]
    assert match.legs == (0,)
    assert travel.config.alerts[-1].schedule == "immediate"


ICS = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:1@x\r\nDTSTAMP:20240301T000000Z\r\n"
       "DTSTART;VALUE=DATE:20240309\r\nDTEND;VALUE=DATE:20240314\r\nSUMMARY:Conference\r\n"
       "LOCATION:Almaty\\, Kazakhstan\r\nATTENDEE;CN=Ann Lee:mailto:ann@example.org\r\n{extra}END:VEVENT\r\n"
       "END:VCALENDAR\r\n")


def test_ics_legs_dates_and_traveller() -> None:
    itinerary = parse_ics(ICS.format(extra="").encode())
    [leg] = itinerary.legs
    assert (leg.location, str(leg.start), str(leg.end)) == ("Almaty, Kazakhstan", "2024-03-09", "2024-03-13")
    assert (itinerary.traveller, itinerary.email) == ("Ann Lee", "ann@example.org")


@pytest.mark.parametrize(("text", "message"), [
    (ICS.format(extra="RRULE:FREQ=WEEKLY\r\n"), "repeats (RRULE/RDATE)"),
    ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "no VEVENT"),
    (ICS.replace("LOCATION:Almaty\\, Kazakhstan\r\n", ""), "has no LOCATION"),
    (ICS.replace("DTEND;VALUE=DATE:20240314", "DTEND;VALUE=DATE:20240301"), "ends (2024-03-01) before it starts"),
])
def test_bad_ics(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=r".*") as caught:
        parse_ics(text.format(extra="").encode() if "{extra}" in text else text.encode())
    assert message in str(caught.value)


def test_locations_as_people_write_them(gaz: Any) -> None:
    assert resolve_location("Almaty, Kazakhstan", gaz) == "almaty-kz"
    assert resolve_location("Hilton Baku, Azadliq Square, Baku, Azerbaijan", gaz) == "baku-az"
    assert resolve_location("Georgia", gaz) == "GE"
    with pytest.raises(ValueError, match="cannot resolve LOCATION 'Atlantis Resort, Narnia'"):
        resolve_location("Atlantis Resort, Narnia", gaz)


def test_a_place_ambiguous_alone_is_logged_before_its_parts_are_tried(gaz: Any,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="monitor.travel.trips"), pytest.raises(ValueError):
        resolve_location("San Jose", gaz)
    assert "'San Jose' is ambiguous alone" in caplog.text


def test_folder_loads_good_files_reports_bad_ones_and_keeps_the_last_good(tmp_path: Path, gaz: Any) -> None:
    folder = tmp_path / "trips"
    folder.mkdir()
    (folder / "almaty.ics").write_text(ICS.format(extra=""), encoding="utf-8")
    (folder / "tbilisi.yaml").write_text("traveller: Bo\nemail: bo@example.org\nlegs:\n"
                                         "  - {place: 'Tbilisi, Georgia', from: 2024-03-01, to: 2024-03-30}\n")
    (folder / "nowhere.ics").write_text(ICS.format(extra="").replace("Almaty\\, Kazakhstan", "Narnia"))
    (folder / "weekly.ics").write_text(ICS.format(extra="RRULE:FREQ=WEEKLY\r\n"))
    (folder / "notes.txt").write_text("not a trip")
    config = travel_config(tmp_path, TRIP + f"  folder: {folder}\n")
    travel = plan(config, gaz)
    assert sorted(travel.trips) == ["almaty", "caucasus-tour", "tbilisi"]
    assert travel.trips["almaty"].legs[0].place == "almaty-kz"
    assert len(travel.problems) == 2
    assert f"{folder / 'nowhere.ics'}: cannot resolve LOCATION 'Narnia'" in travel.problems[0]
    assert "weekly.ics: event 1 ('Conference') repeats" in travel.problems[1]
    alerts = {a.name: a for a in travel.config.alerts}
    assert alerts["trip:almaty"].deliver[0].kind == "email"  # the attendee's address
    assert trip_matches(config, gaz, [fact("almaty", ALMATY), fact("baku", BAKU)], "almaty") == ["almaty"]
    # A broken edit keeps the version that loaded before; the error still says what is wrong.
    (folder / "tbilisi.yaml").write_text("legs: [{place: GE, from: 2024-03-05, to: 2024-03-01}]\n")
    again = plan(config, gaz)
    assert again.trips["tbilisi"].legs[0].place == "tbilisi-ge"
    assert any("tbilisi.yaml: legs[0].to: the leg ends" in p and "keeping the version" in p for p in again.problems)


@pytest.mark.parametrize(("body", "message"), [
    ("travel:\n  trips:\n    - {name: t, deliver: [{kind: file, path: o}], legs: [{place: Narnia, from: 2024-03-01, "
     "to: 2024-03-02}]}\n", "travel.trips[0].legs[0].place: unknown place 'Narnia'"),
    ("travel:\n  trips:\n    - {name: t, legs: [{place: AZ, from: 2024-03-01, to: 2024-03-02}]}\n",
     "travel.trips[0]: trip 't' has nowhere to deliver"),
    ("travel:\n  trips:\n    - {name: t, deliver: [{kind: file, path: o}], threats: [terorism], legs: [{place: AZ, "
     "from: 2024-03-01, to: 2024-03-02}]}\n", "travel.trips[0].threats[0]: unknown threat 'terorism'"),
])
def test_bad_config_trips_are_located(tmp_path: Path, gaz: Any, body: str, message: str) -> None:
    config = travel_config(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        compile_rules(plan(config, gaz).config, gaz)
    assert message in str(caught.value)
    assert "config.yaml:" in str(caught.value)
