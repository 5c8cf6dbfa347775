"""The configuration file: pydantic models of every key, loaded with positions for errors.

Errors read ``config.yaml:14:7: alerts[2].match.regions[0]: <what is wrong> (did you mean ...?)``
and all of them are reported at once. ``${VAR}`` and ``${VAR:-default}`` are interpolated in
string values only (never across the raw file), so a secret can stay in the environment.
"""

from __future__ import annotations

import difflib
import os
import re
import typing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from monitor.durations import parse_duration
from monitor.errors import ConfigError, Problem
from monitor.yamlpos import Located, load_located

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _base(info: ValidationInfo) -> Path:
    context = info.context or {}
    return Path(context.get("base", "."))


def _relative_path(value: Path, info: ValidationInfo) -> Path:
    value = Path(os.path.expanduser(str(value)))
    return value if value.is_absolute() else (_base(info) / value).resolve()


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
RelPath = Annotated[Path, AfterValidator(_relative_path)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FilesSource(Strict):
    """A folder of articles, one per file (.txt, .md, .html)."""

    kind: Literal["files"]
    name: str
    path: RelPath
    every: Duration = timedelta(hours=1)
    enabled: bool = True
    extensions: tuple[str, ...] = (".txt", ".md", ".html", ".htm")


class _FetchedSource(Strict):
    """Keys of every source fetched from a URL: a feed or an official preset."""

    name: str
    url: str
    every: Duration = timedelta(hours=1)
    enabled: bool = True
    timeout: Duration = timedelta(seconds=20)
    max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    parse_timeout: Duration = timedelta(seconds=5)
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _resolve_local(cls, value: str, info: ValidationInfo) -> str:
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", value):
            scheme = value.split(":", 1)[0].lower()
            if scheme not in ("http", "https", "file"):
                raise ValueError(f"expected an http(s) URL, a file:// URL or a local path, got scheme {scheme!r}")
            return value
        return str(_relative_path(Path(value), info))


class FeedSource(_FetchedSource):
    """An RSS 0.9x/1.0/2.0 or Atom feed: an http(s) URL, a file:// URL or a local path."""

    kind: Literal["feed"]


class OfficialSource(_FetchedSource):
    """Keys shared by the official advisory presets (monitor/sources/official/): each preset
    fixes its ``kind`` and the issuer's real public endpoint as the default ``url``."""

    # Official endpoints are larger and slower than news feeds.
    timeout: Duration = timedelta(seconds=30)
    max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    parse_timeout: Duration = timedelta(seconds=10)


class UsStateDeptSource(OfficialSource):
    """US State Department travel advisories: the RSS feed, the JSON API as the fallback."""

    kind: Literal["us-state-dept"]
    url: str = "https://travel.state.gov/_res/rss/TAsTWs.xml"
    # Tried when the RSS fails (it sits behind a bot check at times); null turns it off.
    fallback_url: str | None = "https://cadataapi.state.gov/api/TravelAdvisories"


class FcdoSource(OfficialSource):
    """UK FCDO foreign travel advice (GOV.UK content API): the index, then each country."""

    kind: Literal["fcdo"]
    url: str = "https://www.gov.uk/api/content/foreign-travel-advice"
    every: Duration = timedelta(hours=6)
    timeout: Duration = timedelta(seconds=180)
    # Only these countries (ISO alpha-2 codes or names); empty: every country in the index.
    countries: list[str] = Field(default_factory=list)
    concurrency: int = Field(default=4, ge=1, le=16)


class CanadaSource(OfficialSource):
    """Government of Canada travel advice and advisories (JSON)."""

    kind: Literal["canada"]
    url: str = "https://data.international.gc.ca/travel-voyage/index-alpha-eng.json"


class SmartravellerSource(OfficialSource):
    """Australia's Smartraveller destinations export (JSON)."""

    kind: Literal["smartraveller"]
    url: str = "https://www.smartraveller.gov.au/destinations-export"


class GdacsSource(OfficialSource):
    """GDACS disaster alerts (RSS with gdacs: and georss: elements)."""

    kind: Literal["gdacs"]
    url: str = "https://www.gdacs.org/xml/rss.xml"
    every: Duration = timedelta(minutes=15)


class CapSource(OfficialSource):
    """CAP 1.x alerts: one alert, or a CAP Atom/RSS index (default: US NWS active alerts)."""

    kind: Literal["cap"]
    url: str = "https://api.weather.gov/alerts/active.atom"
    every: Duration = timedelta(minutes=15)
    # Fetch the CAP document behind each index entry that does not carry the CAP fields itself.
    follow_links: bool = True
    max_alerts: int = Field(default=200, gt=0)


OfficialPreset = UsStateDeptSource | FcdoSource | CanadaSource | SmartravellerSource | GdacsSource | CapSource
OFFICIAL_KINDS = ("us-state-dept", "fcdo", "canada", "smartraveller", "gdacs", "cap")
AnySource = FilesSource | FeedSource | OfficialPreset
Source = Annotated[AnySource, Field(discriminator="kind")]


class SmtpConfig(Strict):
    host: str = "localhost"
    port: int = Field(default=25, gt=0, lt=65536)
    security: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "Advisory Monitor <monitor@localhost>"
    timeout: Duration = timedelta(seconds=30)
    # Concurrent sends open up to this many connections, each reused across digests.
    connections: int = Field(default=4, ge=1, le=32)
    # A CA bundle for a relay whose certificate a private CA signed; unset = the system's CAs.
    ca_file: RelPath | None = None

    @field_validator("username", "password", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value


class ServerConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, lt=65536)


class DedupConfig(Strict):
    """Near-duplicate detection: estimated Jaccard similarity of word shingles at or above
    ``threshold`` makes an item a copy of an earlier one."""

    enabled: bool = True
    threshold: float = Field(default=0.8, gt=0, le=1)
    shingle_words: int = Field(default=4, ge=1, le=10)


class WorkersConfig(Strict):
    """Several daemons on one PostgreSQL database: how long a claim on a source poll or a digest
    send lasts without renewal (a dead worker's work is taken over that long after it stops)."""

    lease: Duration = timedelta(seconds=30)

    @field_validator("lease")
    @classmethod
    def _lease_floor(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=2):
            raise ValueError("a lease shorter than 2s would lapse between heartbeats")
        return value


class FileTarget(Strict):
    kind: Literal["file"]
    path: RelPath


class EmailTarget(Strict):
    kind: Literal["email"]
    to: list[str] = Field(min_length=1)


class WebhookTarget(Strict):
    kind: Literal["webhook"]
    url: str
    secret: SecretStr | None = None
    timeout: Duration = timedelta(seconds=10)
    headers: dict[str, str] = Field(default_factory=dict)
    template: RelPath | None = None

    @field_validator("secret", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value


Target = Annotated[FileTarget | EmailTarget | WebhookTarget, Field(discriminator="kind")]


class MatchSpec(Strict):
    regions: list[str] = Field(default_factory=list)
    # Sites (monitor/sites.py) by name: items within their radius; a whole-country item only with
    # include_country. Trips (monitor/trips.py) by name: items about a current leg's place.
    sites: list[str] = Field(default_factory=list)
    include_country: bool = False
    trips: list[str] = Field(default_factory=list)
    threats: list[str] = Field(default_factory=list)
    min_severity: Literal["none", "low", "medium", "high", "critical"] = "low"
    keywords: list[str] = Field(default_factory=list)
    exclude_keywords: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    # Official items (monitor/advisories.py): level changes, or with `any` every official item.
    advisory_change: list[Literal["raised", "lowered", "parts", "any"]] = Field(default_factory=list)
    min_level: int | None = Field(default=None, ge=1, le=4)
    any: list[MatchSpec] | None = None
    all: list[MatchSpec] | None = None
    not_: MatchSpec | None = Field(default=None, alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EverySchedule(Strict):
    every: Duration


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        close = difflib.get_close_matches(value, sorted(available_timezones()), n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ValueError(f"unknown timezone {value!r}: expected an IANA name like Asia/Baku or UTC{hint}") from exc
    return value


def _check_cron(value: str) -> str:
    from monitor.cron import parse_cron

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
        _require_unique([t.name for t in value], "trip")
        return value


class Config(Strict):
    database: str = Field(default="sqlite:///monitor.db", validate_default=True)
    rules: list[RelPath] = Field(default_factory=list)
    sources: list[Source]
    smtp: SmtpConfig | None = None
    alerts: list[AlertRule] = Field(default_factory=list)
    server: ServerConfig | None = None
    templates: RelPath | None = None
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    workers: WorkersConfig = Field(default_factory=WorkersConfig)
    sites: list[SiteSpec] = Field(default_factory=list)
    travel: TravelConfig | None = None
    path: Path | None = Field(default=None, exclude=True)

    @field_validator("database")
    @classmethod
    def _resolve_sqlite(cls, value: str, info: ValidationInfo) -> str:
        prefix = "sqlite:///"
        if value.startswith(prefix) and value != "sqlite:///:memory:":
            return prefix + str(_relative_path(Path(value[len(prefix):]), info))
        return value

    @field_validator("sources")
    @classmethod
    def _unique_sources(cls, value: list[Any]) -> list[Any]:
        _require_unique([s.name for s in value], "source")
        return value

    @field_validator("sites")
    @classmethod
    def _unique_sites(cls, value: list[Any]) -> list[Any]:
        _require_unique([s.name for s in value], "site")
        return value

    @field_validator("alerts")
    @classmethod
    def _unique_alerts(cls, value: list[Any]) -> list[Any]:
        _require_unique([a.name for a in value], "alert")
        return value

    def source(self, name: str) -> AnySource:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)


def _require_unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"two {what}s are named {name!r}; {what} names must be unique")
        seen.add(name)


# ---------------------------------------------------------------------------------------------
# Loading

def interpolate(value: str, environ: typing.Mapping[str, str]) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}``; a missing VAR without default raises KeyError."""

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise KeyError(name)

    return _ENV.sub(replace, value)


def _interpolate_all(located: Located, environ: typing.Mapping[str, str], file: str) -> list[Problem]:
    problems: list[Problem] = []

    def walk(node: Any, path: tuple[str | int, ...]) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, (*path, k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, (*path, i)) for i, v in enumerate(node)]
        if isinstance(node, str) and "${" in node:
            try:
                return interpolate(node, environ)
            except KeyError as exc:
                line, col = located.position(path, value=True) or (None, None)
                problems.append(Problem(file, line, col, format_path(path),
                                        f"environment variable {exc.args[0]} is not set",
                                        None))
        return node

    located.data = walk(located.data, ())
    return problems


def format_path(path: typing.Sequence[str | int]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items() if f.exclude is not True]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Every BaseModel class an annotation can hold (through lists, unions, Annotated)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_models_in(arg))
    return found


def _model_at(path: typing.Sequence[str | int], data: Any) -> list[type[BaseModel]]:
    """The models that could hold the mapping at ``path`` of the raw data (for suggestions)."""
    candidates: list[type[BaseModel]] = [Config]
    node = data
    for part in path:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            nxt: list[type[BaseModel]] = []
            for model in candidates:
                for name, info in model.model_fields.items():
                    if part in (name, info.alias):
                        nxt.extend(_models_in(info.annotation))
            node = node.get(part) if isinstance(node, dict) else None
            candidates = nxt
        if isinstance(node, dict) and "kind" in node:
            narrowed = [m for m in candidates if "kind" in m.model_fields
                        and node["kind"] in typing.get_args(m.model_fields["kind"].annotation)]
            candidates = narrowed or candidates
    return candidates


def _data_path(loc: tuple[Any, ...], data: Any) -> tuple[str | int, ...]:
    """Drop the discriminator tags and union branch names pydantic adds to error locations."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(part, int) and isinstance(node, list):
            path.append(part)
            node = node[part] if part < len(node) else None
        elif isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(part, str) and part == "not_" and isinstance(node, dict) and "not" in node:
            path.append("not")
            node = node["not"]
        elif isinstance(part, str) and _is_branch_label(part, node):
            continue
        else:
            # A missing key: name it, even though the data does not hold it.
            path.append(part)
            break
    return tuple(path)


def _is_branch_label(part: str, node: Any) -> bool:
    """Union branch names in pydantic locations: a discriminator tag, a class or validator name."""
    if isinstance(node, dict) and part == node.get("kind"):
        return True
    return part[:1].isupper() or "[" in part or "-" in part or not isinstance(node, dict)


def _explain(error: dict[str, Any], path: tuple[str | int, ...], data: Any) -> tuple[str, str | None]:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(path[-1]) if path else "?"
        allowed: list[str] = []
        for model in _model_at(path[:-1], data):
            allowed.extend(_field_names(model))
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        expected = ", ".join(sorted(set(allowed)))
        return f"unknown key '{key}' (expected one of: {expected})", close[0] if close else None
    if kind == "missing":
        return f"required key '{path[-1] if path else '?'}' is missing", None
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        tag = str(ctx.get("tag", ""))
        options = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        close = difflib.get_close_matches(tag, options, n=1, cutoff=0.5)
        return f"unknown kind '{tag}' (expected one of: {', '.join(options)})", close[0] if close else None
    if kind == "union_tag_not_found":
        return "missing 'kind' (expected one of: " + str(error.get("ctx", {}).get("discriminator", "")) + ")", None
    if kind == "literal_error" and path and path[-1] == "schedule":
        expected = 'immediate, {every: 1h} or {cron: "0 7 * * *", timezone: UTC}'
        return f"expected {expected}, got {error.get('input')!r}", None
    message = str(error["msg"])
    message = message.removeprefix("Value error, ")
    got = error.get("input")
    if kind not in ("value_error",) and not isinstance(got, dict | list):
        message += f", got {got!r}"
    return message, None


def parse_config(text: str, file: str = "config.yaml", *, base: Path | None = None,
                 environ: typing.Mapping[str, str] | None = None) -> Config:
    """Validate config text; raises ConfigError listing every problem with file:line:col."""
    try:
        located = load_located(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Problem(file, mark.line + 1 if mark else None,
                                   mark.column + 1 if mark else None, "", f"not valid YAML: {problem}")]) from exc
    if not isinstance(located.data, dict):
        raise ConfigError([Problem(file, 1, 1, "", "expected a mapping of keys (database, sources, alerts, ...)")],
                          hint="see config.example.yaml")
    problems = _interpolate_all(located, os.environ if environ is None else environ, file)
    if problems:
        raise ConfigError(problems, hint="export the variable, or write ${VAR:-default} to give a default")
    base = base or Path(file).resolve().parent
    try:
        config = Config.model_validate(located.data, context={"base": base})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            path = _data_path(tuple(error["loc"]), located.data)
            message, suggestion = _explain(dict(error), path, located.data)
            at_value = error["type"] not in ("extra_forbidden", "missing")
            line, col = located.position(path, value=at_value) or (None, None)
            problems.append(Problem(file, line, col, format_path(path), message, suggestion))
        raise ConfigError(_dedupe(problems)) from exc
    return config.model_copy(update={"path": Path(file).resolve()})


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[str] = set()
    out = []
    for problem in problems:
        if str(problem) not in seen:
            seen.add(str(problem))
            out.append(problem)
    return out


def load_config(path: str | Path) -> Config:
    """Read and validate a config file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError([Problem(str(file), None, None, "", "no such file")],
                          hint="pass --config FILE, or copy config.example.yaml to config.yaml") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(str(file), None, None, "", f"cannot read: {exc}")]) from exc
    return parse_config(text, str(file), base=file.resolve().parent)
