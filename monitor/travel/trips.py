"""Trips: a traveller gets the items about where a leg takes them while that leg is current.

Each trip becomes one alert rule named ``trip:<name>`` (``match: {trips: [<name>]}``, severity
from low, schedule immediate, delivered to the trip's own targets, else its traveller's address,
else ``travel.deliver``), so it goes through the same outbox and exactly-once delivery as every
other alert. Trips come from the config (``travel.trips``: a problem there is a located config
error) and from ``travel.folder``, one per file, YAML or iCalendar: a bad file is reported with its
name and skipped, the rest load, and a file that loaded before keeps its last good version.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from monitor.config import (
    AlertRule,
    Config,
    EmailTarget,
    MatchSpec,
    TravelConfig,
    TripSpec,
    format_path,
    leg_window,
)

log = logging.getLogger(__name__)

TRIP_ALERT_PREFIX = "trip:"
TRIP_SUFFIXES = (".yaml", ".yml", ".ics")

# path -> (mtime, size, trip): the last version of each folder file that loaded, so that a file
# broken by an edit keeps delivering its previous trip in a running daemon.
_last_good: dict[Path, tuple[float, int, TripSpec]] = {}


def alert_name(trip: str) -> str:
    return TRIP_ALERT_PREFIX + trip


def trip_name(alert: str) -> str | None:
    return alert[len(TRIP_ALERT_PREFIX):] if alert.startswith(TRIP_ALERT_PREFIX) else None


@dataclass
class TravelPlan:
    """Every trip (config and folder) and the config with one alert rule per trip."""

    config: Config
    trips: dict[str, TripSpec] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # trip -> "config" or its file
    problems: list[str] = field(default_factory=list)  # per-file errors of the folder


def plan(config: Config, resolver: Any, threat_types: Iterable[str] = ()) -> TravelPlan:
    """Read the trips folder and add a ``trip:<name>`` alert rule per trip to the config."""
    travel = config.travel
    if travel is None:
        return TravelPlan(config)
    trips = {t.name: t for t in travel.trips}
    origin = dict.fromkeys(trips, "config")
    problems: list[str] = []
    if travel.folder is not None:
        for path, trip, problem in load_folder(travel.folder, resolver, set(threat_types)):
            if trip is not None and trip.name in trips:
                problem = problem or f"a trip named '{trip.name}' exists already ({origin[trip.name]}); rename one"
                trip = None
            if trip is not None and not targets(trip, travel):
                problem = problem or "nowhere to deliver: give the trip deliver: or an attendee's mail address, " \
                                     "or give travel a default deliver:"
                trip = None
            if problem:
                problems.append(f"{path}: {problem}")
                log.error("trip file %s: %s", path, problem)
            if trip is not None:
                trips[trip.name] = trip
                origin[trip.name] = str(path)
    alerts = list(config.alerts)
    names = {a.name for a in alerts}
    for trip in trips.values():
        rule = trip_alert(trip, travel)
        if rule is None:
            continue  # no target: a config trip is refused by validate_targets, a file trip above
        if rule.name in names:
            continue  # an alert of the user's own already has that name; the config check says so
        alerts.append(rule)
    expanded = travel.model_copy(update={"trips": list(trips.values())})
    return TravelPlan(config.model_copy(update={"alerts": alerts, "travel": expanded}), trips, origin, problems)


def targets(trip: TripSpec, travel: TravelConfig) -> list[Any]:
    if trip.deliver:
        return list(trip.deliver)
    if trip.email:
        return [EmailTarget(kind="email", to=[trip.email])]
    return list(travel.deliver)


def trip_alert(trip: TripSpec, travel: TravelConfig) -> AlertRule | None:
    deliver = targets(trip, travel)
    if not deliver:
        return None
    match = MatchSpec(trips=[trip.name], threats=list(trip.threats), min_severity=trip.min_severity)
    return AlertRule(name=alert_name(trip.name), match=match, schedule=trip.schedule, deliver=deliver,
                     timezone=trip.timezone)


def target_problems(config: Config) -> list[tuple[tuple[str | int, ...], str]]:
    """(config path, message) for config trips with nowhere to deliver or clashing alert names."""
    travel = config.travel
    if travel is None:
        return []
    out: list[tuple[tuple[str | int, ...], str]] = []
    names = {a.name for a in config.alerts if trip_name(a.name) is None}
    for index, trip in enumerate(travel.trips):
        if not targets(trip, travel):
            out.append((("travel", "trips", index), f"trip '{trip.name}' has nowhere to deliver: give it deliver: "
                        "or email:, or give travel a default deliver:"))
        if alert_name(trip.name) in names:
            out.append((("travel", "trips", index), f"an alert is named '{alert_name(trip.name)}' too"))
    return out


# ---------------------------------------------------------------------------------------------
# The folder

def load_folder(folder: Path, resolver: Any, threat_types: set[str]
                ) -> list[tuple[Path, TripSpec | None, str | None]]:
    """(file, trip or None, problem or None) for each trip file, in name order."""
    if not folder.is_dir():
        return [(folder, None, "the trips folder does not exist")]
    out: list[tuple[Path, TripSpec | None, str | None]] = []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in TRIP_SUFFIXES and p.is_file()):
        try:
            stat = path.stat()
            trip = load_trip_file(path, resolver, threat_types)
        except (OSError, ValueError) as exc:
            kept = _last_good.get(path)
            problem = str(exc)
            if kept is not None:
                problem += " (keeping the version that loaded before)"
            out.append((path, kept[2] if kept else None, problem))
            continue
        _last_good[path] = (stat.st_mtime, stat.st_size, trip)
        out.append((path, trip, None))
    return out


def load_trip_file(path: Path, resolver: Any, threat_types: set[str]) -> TripSpec:
    """One trip from a .yaml/.yml or .ics file, with its legs' places resolved to region ids."""
    data = path.read_bytes()
    if path.suffix.lower() == ".ics":
        from monitor.travel.itinerary import parse_ics

        itinerary = parse_ics(data)
        raw: dict[str, Any] = {
            "name": path.stem, "traveller": itinerary.traveller, "email": itinerary.email,
            "legs": [{"place": leg.location, "from": leg.start, "to": leg.end} for leg in itinerary.legs]}
    else:
        try:
            raw = yaml.safe_load(data.decode("utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ValueError(f"not valid YAML: {exc}") from exc
        if not isinstance(raw, dict):
            raise ValueError("expected a mapping with name, traveller, legs")
        raw.setdefault("name", path.stem)
    try:
        trip = TripSpec.model_validate(raw, context={"base": path.parent})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = format_path([p for p in first["loc"] if isinstance(p, str | int)])
        raise ValueError(f"{where}: {first['msg'].removeprefix('Value error, ')}") from exc
    unknown = [t for t in trip.threats if threat_types and t not in threat_types]
    if unknown:
        raise ValueError(f"unknown threat '{unknown[0]}' (known: {', '.join(sorted(threat_types))})")
    legs = []
    for leg in trip.legs:
        legs.append(leg.model_copy(update={"place": resolve_location(leg.place, resolver)}))
    return trip.model_copy(update={"legs": legs})


def resolve_location(text: str, resolver: Any) -> str:
    """A region id for a place as people write it: an id, a name, or "Almaty, Kazakhstan" (the most
    specific part that lies in the country named); ValueError naming the text when none fits."""
    if resolver is None:
        return text
    from monitor.classify.gazetteer import RegionLookupError  # loaded with the resolver it comes from

    found = list(resolver.resolve(text))
    if len({r.id for r in found}) == 1:
        return str(found[0].id)
    if found and hasattr(resolver, "lookup"):
        try:
            return str(resolver.lookup(text).id)
        except RegionLookupError as exc:
            log.debug("trip place %r is ambiguous alone (%s); trying its comma-separated parts", text, exc)
    parts = [p.strip() for p in text.split(",") if p.strip()]
    country = None
    for part in reversed(parts):
        countries = [r for r in resolver.resolve(part) if r.kind == "country"]
        if countries:
            country = countries[0]
            break
    for part in parts:
        candidates = [r for r in resolver.resolve(part) if r.kind in ("city", "region")
                      and (country is None or r.country == country.id)]
        if candidates and (country is not None or len({r.id for r in candidates}) == 1):
            best = max(candidates, key=lambda r: (r.kind == "city", r.population))
            return str(best.id)
    if country is not None:
        return str(country.id)
    raise ValueError(f"cannot resolve LOCATION {text!r} to a place: write a city and its country "
                     "(\"Almaty, Kazakhstan\") or a region id")


# ---------------------------------------------------------------------------------------------
# Where a trip stands

@dataclass(frozen=True)
class LegView:
    index: int
    place: str
    name: str
    country: str | None
    start: datetime
    end: datetime  # exclusive
    state: str  # past | active | upcoming
    watched: bool  # items about it are sent now (active, or upcoming within the lead time)
    level: int | None = None
    level_issuer: str | None = None
    advice: str | None = None  # the issuer's label for that level ("Reconsider travel")


def leg_views(trip: TripSpec, lead: Any, now: datetime, resolver: Any,
              levels: dict[str, tuple[int, str, str]] | None = None) -> list[LegView]:
    """Each leg with its place's name, its dates and state at ``now``."""
    out = []
    for index, leg in enumerate(trip.legs):
        start, end = leg_window(leg.from_, leg.to)
        region = _region(resolver, leg.place)
        country = (region.country or (region.id if region.kind == "country" else None)) if region else None
        state = "past" if now >= end else "active" if now >= start else "upcoming"
        level = (levels or {}).get(country or "")
        out.append(LegView(index, leg.place, region.name if region else leg.place, country, start, end, state,
                           start - lead <= now < end,
                           level[0] if level else None, level[1] if level else None,
                           (level[2] or None) if level else None))
    return out


def _region(resolver: Any, region_id: str) -> Any:
    regions = getattr(resolver, "regions", None)
    return regions.get(region_id) if isinstance(regions, dict) else None


def current_levels(rows: Sequence[Any]) -> dict[str, tuple[int, str, str]]:
    """country -> (highest current official level, issuer, its label) from AdvisoryLevels.current()."""
    out: dict[str, tuple[int, str, str]] = {}
    for row in rows:
        if row.country and (row.country not in out or row.level > out[row.country][0]):
            out[row.country] = (int(row.level), str(row.issuer), str(row.label or ""))
    return out


def day_text(start: datetime, end: datetime) -> str:
    """A leg's dates as people read them: whole days when it runs midnight to midnight."""
    if start.time() == end.time() == datetime.min.time():
        last = (end.date().toordinal() - 1)
        return f"{start.date().isoformat()} to {date.fromordinal(last).isoformat()}"
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"

