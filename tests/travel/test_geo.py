"""Geometry: haversine, item shapes from every source kind, region points, the circle index."""

from __future__ import annotations

import random

import pytest

from monitor.models import GeoPoint
from monitor.travel.geo import (
    Circle,
    CircleIndex,
    Polygon,
    haversine_km,
    haversine_np,
    item_shapes,
    region_points,
)

OFFICE = (40.4093, 49.8671)
ABSHERON = [[40.30, 49.70], [40.55, 49.70], [40.55, 50.05], [40.30, 50.05], [40.30, 49.70]]


def test_haversine_known_distances() -> None:
    assert haversine_km(*OFFICE, *OFFICE) == 0
    # Baku -> Tbilisi is about 450 km; the GDACS point of the acceptance check is 32 km from the office.
    assert 440 < haversine_km(40.3777, 49.892, 41.6941, 44.8337) < 460
    assert round(haversine_km(40.25, 49.55, *OFFICE)) == 32
    # Across the antimeridian the short way round.
    assert haversine_km(0, 179.5, 0, -179.5) == pytest.approx(111.2, abs=0.5)


def test_one_pair_measures_exactly_as_in_bulk() -> None:
    # One haversine: a distance measured alone (sites, CAP circles) and in bulk (item points) is the
    # same float, so an item on a site's edge is inside or outside whichever way it was measured.
    import numpy as np

    rng = random.Random(3)
    pairs = [(rng.uniform(-90, 90), rng.uniform(-180, 180), rng.uniform(-90, 90), rng.uniform(-180, 180))
             for _ in range(20_000)]
    pairs += [(*OFFICE, *OFFICE), (0.0, 179.5, 0.0, -179.5), (89.9, 10.0, -89.9, -170.0)]
    bulk = haversine_np(*(np.array(column) for column in zip(*pairs, strict=True))).tolist()
    assert [haversine_km(*pair) for pair in pairs] == bulk


def test_polygon_inside_is_zero_and_outside_is_the_edge_distance() -> None:
    poly = Polygon(tuple((a, b) for a, b in ABSHERON))
    assert poly.distance_km(*OFFICE) == 0
    # 0.3 degrees south of the southern edge: about 33 km.
    assert poly.distance_km(40.0, 49.87) == pytest.approx(33.4, abs=0.5)


def test_circle_distance_subtracts_its_radius() -> None:
    assert Circle(40.25, 49.55, 40).distance_km(*OFFICE) == 0
    assert Circle(40.25, 49.55, 10).distance_km(*OFFICE) == pytest.approx(22.2, abs=0.5)


def test_item_shapes_from_points_cap_georss_and_gdacs() -> None:
    extra = {
        "cap": {"areas": [{"desc": "x", "polygons": [ABSHERON], "circles": [{"lat": 40, "lon": 49, "radius_km": 5}]},
                          {"desc": "bad", "polygons": [[["a", "b"]]], "circles": ["junk"]}]},
        "geometry": {"type": "Box", "coordinates": [[44.0, 39.0], [46.0, 41.0]]},
        "gdacs_bbox": "44.0 46.0 39.0 41.0",
    }
    shapes = item_shapes([GeoPoint(lat=40.25, lon=49.55), {"lat": 91, "lon": 0}], extra)
    kinds = [type(s).__name__ for s in shapes]
    assert kinds == ["Circle", "Polygon", "Circle", "Polygon", "Polygon"]
    assert shapes[3].bounds() == shapes[4].bounds() == (39.0, 44.0, 41.0, 46.0)
    poly = item_shapes([], {"geometry": {"type": "Polygon", "coordinates": [[[49.7, 40.3], [50.05, 40.3],
                                                                               [50.05, 40.55], [49.7, 40.3]]]}})
    assert isinstance(poly[0], Polygon) and poly[0].ring[0] == (40.3, 49.7)
    assert item_shapes([], {"gdacs_bbox": "not numbers"}) == []


def test_region_points_use_the_gazetteers_ids() -> None:
    points = region_points()
    assert points["baku-az"].country == "AZ"
    assert haversine_km(points["baku-az"].lat, points["baku-az"].lon, *OFFICE) < 10
    assert points["almaty-kz"].country == "KZ"
    # Subdivisions: by the city they are named after (AZ-BA Bakı), US states by admin1 code.
    assert haversine_km(points["AZ-BA"].lat, points["AZ-BA"].lon, *OFFICE) < 10
    assert points["US-CA"].country == "US"
    assert "AZ" not in points  # a country has no point on purpose


def test_circle_index_agrees_with_a_scan() -> None:
    rng = random.Random(7)
    circles = [(f"s{i}", rng.uniform(-70, 70), rng.uniform(-180, 180), rng.uniform(5, 300)) for i in range(400)]
    index = CircleIndex(circles)
    for _ in range(300):
        lat, lon = rng.uniform(-70, 70), rng.uniform(-180, 180)
        expected = {k for k, clat, clon, r in circles if haversine_km(lat, lon, clat, clon) <= r}
        assert set(index.near(Circle(lat, lon))) == expected


def test_bulk_lookups_agree_with_near() -> None:
    # Points and polygons are measured by thousands at once (numpy, shapely): the same circles, in the
    # same order, at the same distances (to rounding) as one shape at a time, poles and antimeridian too.
    rng = random.Random(11)
    circles = [(f"s{i}", rng.uniform(-89.5, 89.5), rng.uniform(-180, 180), rng.uniform(5, 300)) for i in range(600)]
    circles += [("pole", 89.6, 10.0, 150.0), ("east", 10.0, 179.9, 120.0), ("west", -5.0, -179.95, 80.0)]
    index = CircleIndex(circles)
    points = [(rng.uniform(-90, 90), rng.uniform(-180, 180)) for _ in range(3000)]
    points += [(90.0, 0.0), (89.9, -170.0), (10.0, -180.0), (10.0, 180.0), (-5.0, 179.9)]
    got: dict[int, dict[str, float]] = {}
    for n, key, km in index.near_points([p[0] for p in points], [p[1] for p in points]):
        got.setdefault(n, {})[key] = km
    for n, (lat, lon) in enumerate(points):
        expected = index.near(Circle(lat, lon))
        assert list(got.get(n, {})) == list(expected)
        assert got.get(n, {}) == pytest.approx(expected, abs=1e-9)
    assert "east" in got[len(points) - 3] and "pole" in got[len(points) - 4]  # across the antimeridian, the pole
    polygons = [Polygon(((lat, lon), (lat + d, lon), (lat + d, lon + d), (lat, lon + d), (lat, lon)))
                for lat, lon, d in ((rng.uniform(-80, 80), rng.uniform(-179, 178), rng.uniform(0.1, 1.5))
                                    for _ in range(500))]
    polygons.append(Polygon(((40.3, 49.7), (40.55, 50.05), (40.55, 49.7), (40.3, 50.05))))  # a bow tie
    for polygon, found in zip(polygons, index.near_polygons(polygons), strict=True):
        expected = index.near(polygon)
        assert list(found) == list(expected)
        assert found == pytest.approx(expected, abs=1e-9)
    assert sum(map(len, index.near_polygons(polygons))) > 50
