"""Sites: items within a radius by geometry or by their places, country items only on request."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.alerts import ItemFacts, compile_rules
from monitor.errors import ConfigError
from monitor.travel.sites import SiteLocator, kinds_from, nearest_country
from tests.travel_fixtures import gazetteer, travel_config

NOW = datetime(2024, 3, 1, 12, tzinfo=UTC)
BAKU = frozenset({"baku-az", "AZ", "western-asia", "asia"})
GANJA = frozenset({"ganja-az", "AZ", "western-asia", "asia"})
ABSHERON_ONLY = frozenset({"AZ-BA", "AZ", "western-asia", "asia"})
AZ_ONLY = frozenset({"AZ", "western-asia", "asia"})
CAP = {"cap": {"areas": [{"polygons": [[[40.30, 49.70], [40.55, 49.70], [40.55, 50.05], [40.30, 50.05],
                                         [40.30, 49.70]]]}]}}

SITES = """
sites:
  - {name: baku-office, at: {lat: 40.4093, lon: 49.8671}, radius: 50km}
  - {name: ganja-depot, place: Ganja, radius: 10 km}
alerts:
  - {name: office, match: {sites: [baku-office]}, deliver: [{kind: file, path: out}]}
  - {name: office-wide, match: {sites: [baku-office], include_country: true}, deliver: [{kind: file, path: out}]}
  - {name: depot, match: {sites: [ganja-depot], threats: [terrorism]}, deliver: [{kind: file, path: out}]}
"""


@pytest.fixture(scope="module")
def gaz() -> Any:
    return gazetteer()


def fact(item_id: str, regions: frozenset[str], threats: tuple[str, ...] = ("civil_unrest",)) -> ItemFacts:
    return ItemFacts(item_id, "news", regions, frozenset(threats), 2, NOW)


def matched(tmp_path: Path, gaz: Any, facts: list[ItemFacts], geometry: dict[str, Any]) -> dict[str, list[str]]:
    matcher = compile_rules(travel_config(tmp_path, SITES), gaz)
    locator = SiteLocator(matcher.sites, kinds_from(gaz))
    found = matcher.match(locator.annotate(facts, geometry))
    return {alert: [m.item_id for m in ms] for alert, ms in found.items()}


def test_places_geometry_and_country_items(tmp_path: Path, gaz: Any) -> None:
    facts = [fact("baku", BAKU), fact("ganja", GANJA, ("terrorism",)), fact("absheron", ABSHERON_ONLY),
             fact("country", AZ_ONLY), fact("quake", AZ_ONLY), fact("flood", frozenset()),
             fact("far-quake", frozenset({"CL"}))]
    geometry = {"quake": ([{"lat": 40.25, "lon": 49.55}], {}), "flood": ([], CAP),
                "far-quake": ([{"lat": -33.1, "lon": -71.6}], {})}
    got = matched(tmp_path, gaz, facts, geometry)
    assert got["office"] == ["baku", "absheron", "quake", "flood"]
    assert got["office-wide"] == ["baku", "absheron", "country", "quake", "flood"]
    assert got["depot"] == ["ganja"]


def test_why_names_the_distance(tmp_path: Path, gaz: Any) -> None:
    matcher = compile_rules(travel_config(tmp_path, SITES), gaz)
    locator = SiteLocator(matcher.sites, kinds_from(gaz))
    facts = locator.annotate([fact("quake", AZ_ONLY), fact("country", AZ_ONLY)],
                             {"quake": ([{"lat": 40.25, "lon": 49.55}], {})})
    found = matcher.match(facts)
    assert "32 km from baku-office" in found["office"][0].why
    assert "in the country of baku-office" in found["office-wide"][1].why


def test_a_geometry_outside_wins_over_a_place_inside(tmp_path: Path, gaz: Any) -> None:
    # An item that names Baku but whose own point is in Chile is where its point is.
    got = matched(tmp_path, gaz, [fact("odd", BAKU)], {"odd": ([{"lat": -33.1, "lon": -71.6}], {})})
    assert got["office"] == []


def test_site_country_by_nearest_city() -> None:
    assert nearest_country(40.4093, 49.8671) == "AZ"
    assert nearest_country(0.0, -140.0) is None  # the open Pacific


@pytest.mark.parametrize(("body", "message"), [
    ("sites: [{name: a, at: {lat: 40, lon: 49}, radius: 0km}]\n", "sites[0].radius: a site's radius must be more"),
    ("sites: [{name: a, at: {lat: 40, lon: 49}, radius: 20000km}]\n", "at most 1000km, got 20000km"),
    ("sites: [{name: a, at: {lat: 95, lon: 49}}]\n", "sites[0].at.lat: Input should be less than or equal to 90"),
    ("sites: [{name: a, at: {lat: 40, lon: 49}, place: Baku}]\n", "give a site exactly one of at"),
    ("sites: [{name: a, place: Azerbaijan}]\nalerts: []\n", "cannot be a site's centre: a country has no single"),
    ("sites: [{name: a, place: Narnia}]\nalerts: []\n", "sites[0].place: unknown place 'Narnia'"),
    ("sites: [{name: a, place: Baku}]\nalerts: [{name: x, match: {sites: [b]}, deliver: [{kind: file, path: o}]}]\n",
     "alerts[0].match.sites[0]: no site is named 'b' (sites: a)"),
])
def test_bad_sites_are_located_config_errors(tmp_path: Path, gaz: Any, body: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        compile_rules(travel_config(tmp_path, body), gaz)
    assert message in str(caught.value)
    assert "config.yaml:" in str(caught.value)
