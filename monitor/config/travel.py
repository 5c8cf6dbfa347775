"""The ``sites:`` and ``travel:`` models: places with a radius, trips with legs and dates."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from monitor.config.alerting import Schedule, TimeZone
from monitor.config.base import Duration, RelPath, Strict, require_unique
from monitor.config.delivery import Target


def _parse_distance(value: Any) -> float:
    """A distance in km from ``25km``, ``500 m``, ``10 mi`` or a bare number (km)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a distance like 25km, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    match = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*(km|m|mi)?\s*", str(value).lower())
    if not match:
        raise ValueError(f"expected a distance like 25km, 500m or 10mi, got {value!r}")
    number = float(match.group(1))
    return number * {"km": 1.0, None: 1.0, "m": 0.001, "mi": 1.609344}[match.group(2)]


def _check_radius(km: float) -> float:
    if not 0 < km <= MAX_SITE_RADIUS_KM:
        raise ValueError(f"a site's radius must be more than 0 and at most {MAX_SITE_RADIUS_KM:.0f}km, got {km:g}km"
                         " (for a larger area name a region in match.regions)")
    return km


MAX_SITE_RADIUS_KM = 1000.0
Radius = Annotated[float, BeforeValidator(_parse_distance), AfterValidator(_check_radius)]


class LatLon(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class SiteSpec(Strict):
    """A place with a radius: ``at: {lat, lon}`` or ``place: <region id or name>`` (a city or region)."""

    name: str
    at: LatLon | None = None
    place: str | None = None
    radius: Radius = 25.0

    @model_validator(mode="after")
    def _one_location(self) -> SiteSpec:
        if (self.at is None) == (self.place is None):
            raise ValueError("give a site exactly one of at: {lat, lon} or place: <city or region>")
        return self



class LegSpec(Strict):
    """One leg of a trip: a place and its dates (a date is a whole day in UTC; ``to`` is inclusive)."""

    place: str
    from_: datetime | date = Field(alias="from")
    to: datetime | date

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("to")
    @classmethod
    def _ends_after_start(cls, value: datetime | date, info: ValidationInfo) -> datetime | date:
        start = info.data.get("from_")
        if start is not None and leg_window(start, value)[1] <= leg_window(start, value)[0]:
            raise ValueError(f"the leg ends ({value}) before it starts ({start})")
        return value


def leg_window(start: datetime | date, end: datetime | date) -> tuple[datetime, datetime]:
    """[start, end) of a leg in UTC: a date starts at 00:00 UTC; an end date counts its whole day."""
    def moment(value: datetime | date, whole_day: bool) -> datetime:
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        day = datetime(value.year, value.month, value.day, tzinfo=UTC)
        return day + timedelta(days=1) if whole_day else day

    return moment(start, False), moment(end, True)


class TripSpec(Strict):
    """A traveller's trip: legs with dates; items about a leg's place while it is current."""

    name: str
    traveller: str = ""
    email: str | None = None
    deliver: list[Target] | None = None
    legs: list[LegSpec] = Field(min_length=1)
    threats: list[str] = Field(default_factory=list)
    min_severity: Literal["none", "low", "medium", "high", "critical"] = "low"
    schedule: Schedule = "immediate"
    timezone: TimeZone = "UTC"


class TravelConfig(Strict):
    lead: Duration = timedelta(days=3)
    deliver: list[Target] = Field(default_factory=list)
    folder: RelPath | None = None
    trips: list[TripSpec] = Field(default_factory=list)

    @field_validator("trips")
    @classmethod
    def _unique_trips(cls, value: list[Any]) -> list[Any]:
        require_unique([t.name for t in value], "trip")
        return value
