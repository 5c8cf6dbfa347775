"""The shared advisory fields: country codes and names to ISO alpha-2, and the one 1-4 scale."""

from __future__ import annotations

import pytest

from monitor.models import Severity
from monitor.official import countries
from monitor.official.scale import advisory, fcdo_level, severity_of, smartraveller_level, us_level


@pytest.mark.parametrize(("fips", "iso"), [("CH", "CN"), ("SG", "SN"), ("UK", "GB"), ("AJ", "AZ"), ("KV", "XK"),
                                            ("MC", "MO"), ("SZ", "CH"), ("GM", "DE")])
def test_fips_codes_become_iso(fips: str, iso: str) -> None:
    assert countries.from_fips(fips) == iso


@pytest.mark.parametrize(("name", "iso"), [
    ("Burma (Myanmar)", "MM"), ("The Gambia", "GM"), ("Cote d Ivoire", "CI"), ("Côte d’Ivoire", "CI"),
    ("Democratic Republic of the Congo", "CD"), ("Republic of the Congo", "CG"), ("St Lucia", "LC"),
    ("Saint Vincent and the Grenadines", "VC"), ("Kosovo", "XK"), ("Israel, The West Bank and Gaza", "IL"),
    ("Curaçao", "CW"), ("Türkiye", "TR"), ("North Korea", "KP"), ("Azerbaijan", "AZ"),
])
def test_names_become_iso(name: str, iso: str) -> None:
    assert countries.from_name(name) == iso


def test_country_aliases_are_the_gazetteers() -> None:
    # One list: every country alias in the shipped regions.yaml reads as its country, except where
    # an ISO name says otherwise ("Congo" is the ISO short name of CG; the gazetteer means CD).
    import yaml

    from monitor.support.resources import shipped_rules_dir

    data = yaml.safe_load((shipped_rules_dir() / "regions.yaml").read_text(encoding="utf-8"))
    aliases = [(str(a), code) for code, spec in data["countries"].items() for a in (spec or {}).get("aliases") or ()]
    assert len(aliases) > 100
    wrong = {a: (code, countries.from_name(a)) for a, code in aliases if countries.from_name(a) != code}
    assert wrong == {"Congo": ("CD", "CG")}
    assert countries.from_name("Deutschland") == "DE" and countries.from_name("Brasil") == "BR"


def test_unknown_names_and_codes_give_none() -> None:
    assert countries.from_name("Worldwide Caution") is None
    assert countries.from_fips("ZZ") is None
    assert countries.from_iso3("SDN") == "SD"


@pytest.mark.parametrize(("statuses", "level", "parts"), [
    ([], 1, False),
    (["avoid_all_but_essential_travel_to_parts"], 2, True),
    (["avoid_all_travel_to_parts"], 3, True),
    (["avoid_all_travel_to_parts", "avoid_all_but_essential_travel_to_parts"], 3, True),
    (["avoid_all_but_essential_travel_to_whole_country"], 3, False),
    (["avoid_all_but_essential_travel_to_whole_country", "avoid_all_travel_to_parts"], 3, True),
    (["avoid_all_travel_to_whole_country"], 4, False),
    (["something_new"], 1, False),
])
def test_fcdo_alert_status_mapping(statuses: list[str], level: int, parts: bool) -> None:
    got_level, got_parts, label = fcdo_level(statuses)
    assert (got_level, got_parts) == (level, parts)
    assert label


def test_level_words_and_severity() -> None:
    assert us_level("Level 3: Reconsider Travel") == 3
    assert us_level("Caution") is None
    assert smartraveller_level("Reconsider your need to travel") == 3
    assert smartraveller_level("No travel advice") is None
    assert [severity_of(n) for n in (1, 2, 3, 4)] == [Severity.low, Severity.medium, Severity.high, Severity.critical]
    assert advisory("us", "ML", 4, False, "Level 4: Do Not Travel").to_json() == {
        "issuer": "us", "country": "ML", "level": 4, "parts": False, "label": "Level 4: Do Not Travel",
        "scope": "country"}
