"""The ``alerts:`` models: what a rule matches, when it sends (schedules, quiet hours)."""

from __future__ import annotations

import difflib
import re
from datetime import timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Discriminator, Field, Tag

from monitor.config.base import Duration, Interval, RelPath, Strict
from monitor.config.delivery import Target


class MatchSpec(Strict):
    regions: list[str] = Field(default_factory=list)
    # Sites (monitor/travel/sites.py) by name: items within their radius; a whole-country item only with
    # include_country. Trips (monitor/travel/trips.py) by name: items about a current leg's place.
    sites: list[str] = Field(default_factory=list)
    include_country: bool = False
    trips: list[str] = Field(default_factory=list)
    threats: list[str] = Field(default_factory=list)
    min_severity: Literal["none", "low", "medium", "high", "critical"] = "low"
    keywords: list[str] = Field(default_factory=list)
    exclude_keywords: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    # Official items (monitor/official/changes.py): level changes, or with `any` every official item.
    advisory_change: list[Literal["raised", "lowered", "parts", "any"]] = Field(default_factory=list)
    min_level: int | None = Field(default=None, ge=1, le=4)
    # Incidents (monitor/incidents/): true, only items of a breaking incident; false, only others.
    breaking: bool | None = None
    any: list[MatchSpec] | None = None
    all: list[MatchSpec] | None = None
    not_: MatchSpec | None = Field(default=None, alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EverySchedule(Strict):
    every: Interval


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        close = difflib.get_close_matches(value, sorted(available_timezones()), n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ValueError(f"unknown timezone {value!r}: expected an IANA name like Asia/Baku or UTC{hint}") from exc
    return value


def _check_cron(value: str) -> str:
    from monitor.support.cron import parse_cron

    parse_cron(value)
    return value


def _check_clock_time(value: str) -> str:
    if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", value.strip()):
        raise ValueError(f"expected a time of day as HH:MM (22:00), got {value!r}")
    return value.strip()


TimeZone = Annotated[str, AfterValidator(_check_timezone)]
ClockTime = Annotated[str, BeforeValidator(str), AfterValidator(_check_clock_time)]


class CronSchedule(Strict):
    cron: Annotated[str, AfterValidator(_check_cron)]
    timezone: TimeZone = "UTC"


def _schedule_kind(value: Any) -> str:
    if isinstance(value, str):
        return "Immediate"
    if isinstance(value, CronSchedule) or (isinstance(value, dict) and "cron" in value):
        return "CronSchedule"
    return "EverySchedule"


Schedule = Annotated[
    Annotated[Literal["immediate"], Tag("Immediate")]
    | Annotated[EverySchedule, Tag("EverySchedule")]
    | Annotated[CronSchedule, Tag("CronSchedule")],
    Discriminator(_schedule_kind),
]


class QuietHours(Strict):
    start: ClockTime
    end: ClockTime
    timezone: TimeZone = "UTC"


class AlertRule(Strict):
    name: str
    match: MatchSpec = Field(default_factory=MatchSpec)
    schedule: Schedule = EverySchedule(every=timedelta(hours=1))
    deliver: list[Target] = Field(min_length=1)
    timezone: TimeZone = "UTC"
    quiet_hours: QuietHours | None = None
    urgent_severity: Literal["low", "medium", "high", "critical"] | None = None
    max_items: int = Field(default=50, gt=0)
    max_age: Duration | None = timedelta(days=7)
    template: RelPath | None = None
