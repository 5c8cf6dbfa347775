from __future__ import annotations

import pytest

from monitor.classify.engine import Engine
from monitor.classify.gazetteer import RegionLookupError


def test_countries_cities_and_disputed_regions_have_documented_ids(engine: Engine) -> None:
    assert engine.region("Azerbaijan").id == "AZ"
    assert engine.region("Kosovo").id == "XK"
    assert engine.region("baku-az").kind == "city"
    assert engine.region("Garabagh").id == "nagorno-karabakh"
    assert engine.region("Artsakh").id == "nagorno-karabakh"
    assert engine.region("Kiev").id == engine.region("Kyiv").id == "kyiv-ua"
    assert engine.region("Türkiye").id == engine.region("Turkey").id == "TR"
    assert engine.region("Burma").id == "MM"
    assert engine.region("Ivory Coast").id == "CI"
    assert engine.region("Swaziland").id == "SZ"
    assert engine.region("US-GA").kind == "region"


def test_hierarchy_city_to_continent(engine: Engine) -> None:
    up = engine.ancestors("baku-az")
    assert {"AZ", "western-asia", "asia", "caucasus"} <= up
    assert engine.gazetteer.within("baku-az", "AZ")
    assert engine.gazetteer.within("nagorno-karabakh", "western-asia")
    assert not engine.gazetteer.within("baku-az", "AM")
    assert {"US", "northern-america", "north-america"} <= engine.ancestors("US-TX")
    assert "US-GA" in engine.ancestors("atlanta-us")


def test_ambiguous_name_is_an_error_listing_candidates(engine: Engine) -> None:
    with pytest.raises(RegionLookupError) as info:
        engine.region("Georgia")
    ids = {r.id for r in info.value.candidates}
    assert {"GE", "US-GA"} <= ids
    assert "GE" in str(info.value) and "US-GA" in str(info.value)


def test_unknown_region(engine: Engine) -> None:
    assert engine.resolve("Narnia") == []
    with pytest.raises(RegionLookupError, match="unknown region 'Narnia'"):
        engine.region("Narnia")
