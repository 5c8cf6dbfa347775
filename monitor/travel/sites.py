"""Sites: places with a radius, and where items are, so that alert rules can say ``sites: [office]``.

An item's location is its geometry when it has any (points, CAP polygons and circles, GeoRSS and
GDACS boxes), else the points of its primary places at the finest level named: its cities, else
its first-level regions. An item about a bare country has no point; it is "in the country" of
the sites there, which a rule takes only with ``include_country: true``.

``SiteLocator.annotate`` fills ``ItemFacts.near`` (site -> km) before matching, so the matcher
itself stays plain set logic and indexes site rules by site like region rules by region.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.config import SiteSpec
from monitor.models import ItemFacts
from monitor.travel.geo import Circle, CircleIndex, Polygon, Shape, item_geometry, region_points

log = logging.getLogger(__name__)

Report = Callable[..., None]


@dataclass(frozen=True)
class Site:
    name: str
    lat: float
    lon: float
    radius_km: float
    country: str | None = None  # None until asked for (a site given by coordinates)
    place: str | None = None  # the region id it was named by, if any


def resolve_site(spec: SiteSpec, resolver: Any, report: Report) -> Site | None:
    """The site with its point; ``report(message, suggestion=None)`` on an unusable place."""
    if spec.at is not None:
        return Site(spec.name, spec.at.lat, spec.at.lon, spec.radius)
    assert spec.place is not None
    points = region_points()
    if resolver is None:
        found = [spec.place] if spec.place in points else []
        kinds = {spec.place: "city"}
    else:
        regions = list(resolver.resolve(spec.place))
        exact = [r for r in regions if r.id == spec.place]
        regions = exact[:1] or regions
        located = [r for r in regions if r.id in points]
        if len({r.id for r in located}) > 1:
            listed = ", ".join(f"{r.id} ({r.name}, {r.kind})" for r in located[:8])
            report(f"'{spec.place}' names more than one place: {listed}; write the id")
            return None
        if not located and regions:
            kind = regions[0].kind
            why = ("a country has no single point" if kind in ("country", "subregion", "continent")
                   else "no location is known for it")
            report(f"'{spec.place}' ({regions[0].id}) cannot be a site's centre: {why}; "
                   "name a city or give at: {lat, lon}")
            return None
        found = [r.id for r in located]
        kinds = {r.id: r.kind for r in located}
    if not found:
        report(f"unknown place '{spec.place}'")
        return None
    place = points[found[0]]
    log.debug("site %s at %s (%s)", spec.name, found[0], kinds.get(found[0]))
    return Site(spec.name, place.lat, place.lon, spec.radius, place.country, found[0])


class SiteLocator:
    """Finds the sites each item lies within (an index of the sites' circles does the searching)."""

    def __init__(self, sites: Mapping[str, Site], kind_of: Callable[[str], str | None], *,
                 countries: bool = True) -> None:
        self.sites = dict(sites)
        self.kind_of = kind_of
        # Whether whole-country items are placed at all: only include_country rules take them.
        self.countries = countries
        self.index = CircleIndex((s.name, s.lat, s.lon, s.radius_km) for s in self.sites.values())
        self._points = region_points()
        self._by_regions: dict[frozenset[str], dict[str, float | None]] = {}
        self._by_country: dict[str, list[str]] | None = None

    def near(self, shapes: Sequence[Shape], regions: frozenset[str]) -> dict[str, float | None]:
        """site -> km from its centre (None: the item is about the site's whole country)."""
        if shapes:
            return self._near_shapes(shapes)
        # Without geometry the answer depends on the region set alone: many items share one.
        found = self._by_regions.get(regions)
        if found is None:
            found = self._by_regions[regions] = self._near_places(regions)
        return found

    def _near_shapes(self, shapes: Sequence[Shape]) -> dict[str, float | None]:
        found: dict[str, float | None] = {}
        for shape in shapes:
            for site, km in self.index.near(shape).items():
                best = found.get(site)
                if best is None or km < best:
                    found[site] = km
        return found

    def _near_places(self, regions: frozenset[str]) -> dict[str, float | None]:
        located = self._place_points(regions)
        if located:
            return self._near_shapes([Circle(lat, lon) for lat, lon in located])
        return self._in_countries(regions)

    def _place_points(self, regions: frozenset[str]) -> list[tuple[float, float]]:
        """The points of the regions at the finest level named (cities, else first-level regions)."""
        kinds = {r: self.kind_of(r) for r in regions}
        for level in ("city", "region"):
            located = [self._points[r] for r in regions if kinds[r] == level and r in self._points]
            if located:
                return [(p.lat, p.lon) for p in located]
        return []

    def _in_countries(self, regions: frozenset[str]) -> dict[str, float | None]:
        """The sites in the countries named, for an item about a whole country (no point of its own)."""
        countries = [r for r in regions if self.kind_of(r) == "country"] if self.countries else []
        if not countries:
            return {}
        by_country = self._site_countries()
        return {site: None for cc in countries for site in by_country.get(cc, ())}

    def _site_countries(self) -> dict[str, list[str]]:
        if self._by_country is None:
            table: dict[str, list[str]] = {}
            for site in self.sites.values():
                country = site.country or nearest_country(site.lat, site.lon)
                if country:
                    table.setdefault(country, []).append(site.name)
            self._by_country = table
        return self._by_country

    def annotate(self, facts: Sequence[ItemFacts], geometry: Mapping[str, tuple[list[Any], dict[str, Any]]]
                 ) -> list[ItemFacts]:
        """The facts with ``near`` filled for the items within some site.

        As ``near`` for each fact, but the points of every item and of every new region set are
        measured in one go: per point, Python's overhead is most of the cost.
        """
        batch = _Batch()
        # Per fact: the position of its answer in the batch, or the answer itself (region set known).
        answers: list[int | dict[str, float | None]] = []
        for fact in facts:
            points, extra = geometry.get(fact.id, _NO_GEOMETRY)
            located, shapes = item_geometry(points, extra) if points or extra else _NO_SHAPES
            answers.append(batch.add(located, shapes) if located or shapes else self._by_places(batch, fact.regions))
        nears = batch.measure(self.index)
        for regions, found in batch.pending.items():
            self._by_regions[regions] = nears[found] if isinstance(found, int) else found
        out = []
        for fact, answer in zip(facts, answers, strict=True):
            near = nears[answer] if isinstance(answer, int) else answer
            out.append(fact.with_near(near) if near else fact)
        return out

    def _by_places(self, batch: _Batch, regions: frozenset[str]) -> int | dict[str, float | None]:
        """The answer for an item without geometry: known for its region set, or to be measured."""
        known = self._by_regions.get(regions)
        if known is not None:
            return known
        pending = batch.pending.get(regions)
        if pending is None:
            pending = batch.pending[regions] = self._place_regions(batch, regions)
        return pending

    def _place_regions(self, batch: _Batch, regions: frozenset[str]) -> int | dict[str, float | None]:
        """As _near_places, the places' points going in the batch (a country item's answer is known)."""
        located = self._place_points(regions)
        return batch.add(located, ()) if located else self._in_countries(regions)


_NO_GEOMETRY: tuple[list[Any], dict[str, Any]] = ([], {})
_NO_SHAPES: tuple[list[tuple[float, float]], list[Shape]] = ([], [])


class _Batch:
    """The points and shapes of many items (or region sets), measured against the sites at once."""

    def __init__(self) -> None:
        self.lats: list[float] = []
        self.lons: list[float] = []
        self.owner: list[int] = []  # per point, whose it is
        self.shapes: list[Sequence[Shape]] = []  # per owner, its shapes other than points
        # Region sets first met in this batch -> their owner (or their answer, without points).
        self.pending: dict[frozenset[str], int | dict[str, float | None]] = {}

    def add(self, points: Sequence[tuple[float, float]], shapes: Sequence[Shape]) -> int:
        owner = len(self.shapes)
        self.shapes.append(shapes)
        for lat, lon in points:
            self.lats.append(lat)
            self.lons.append(lon)
            self.owner.append(owner)
        return owner

    def measure(self, index: CircleIndex) -> list[dict[str, float | None]]:
        """Per owner: site -> km, the nearest of its shapes (points first, as item_shapes lists them)."""
        nears: list[dict[str, float | None]] = [{} for _ in self.shapes]
        owner = self.owner
        for point, site, km in index.near_points(self.lats, self.lons):
            found = nears[owner[point]]
            best = found.get(site)
            if best is None or km < best:
                found[site] = km
        # Polygons (CAP areas, boxes) measured together, then folded in each owner's shape order.
        by_polygon = iter(index.near_polygons([s for shapes in self.shapes for s in shapes if isinstance(s, Polygon)]))
        for found, shapes in zip(nears, self.shapes, strict=True):
            for shape in shapes:
                near = next(by_polygon) if isinstance(shape, Polygon) else index.near(shape)
                for site, km in near.items():
                    best = found.get(site)
                    if best is None or km < best:
                        found[site] = km
        return nears


def kinds_from(resolver: Any) -> Callable[[str], str | None]:
    """Region id -> kind, from the gazetteer when there is one, else from the id's shape."""
    regions = getattr(resolver, "regions", None)
    if isinstance(regions, dict):
        def from_gazetteer(region_id: str) -> str | None:
            region = regions.get(region_id)
            return region.kind if region is not None else None
        return from_gazetteer

    def from_id(region_id: str) -> str | None:
        if len(region_id) == 2 and region_id.isupper():
            return "country"
        if region_id[:2].isupper() and region_id[2:3] == "-":
            return "region"
        return "city" if region_id[-3:-2] == "-" and region_id.islower() else None
    return from_id


_COUNTRY_GRID: dict[tuple[int, int], list[tuple[float, float, str]]] = {}


def nearest_country(lat: float, lon: float, max_km: float = 300.0) -> str | None:
    """The country of the nearest gazetteer city within ``max_km`` (a site's country, for
    ``include_country``); None out at sea or in empty land."""
    if not _COUNTRY_GRID:
        for place in region_points().values():
            _COUNTRY_GRID.setdefault((math.floor(place.lat), math.floor(place.lon)), []).append(
                (place.lat, place.lon, place.country))
    best: tuple[float, str] | None = None
    reach = 3  # cells of 1 degree: about 300 km north-south
    for row in range(math.floor(lat) - reach, math.floor(lat) + reach + 1):
        for col in range(math.floor(lon) - reach, math.floor(lon) + reach + 1):
            for plat, plon, cc in _COUNTRY_GRID.get((row, (col + 180) % 360 - 180), ()):
                km = Circle(plat, plon).distance_km(lat, lon)
                if km <= max_km and (best is None or km < best[0]):
                    best = (km, cc)
    return best[1] if best else None
