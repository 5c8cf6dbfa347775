"""Plain models passed between stages: entries, items, classifications, match facts, digests."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)


class Severity(enum.StrEnum):
    none = "none"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self.value)

    @classmethod
    def parse(cls, value: str | Severity) -> Severity:
        return value if isinstance(value, Severity) else cls(str(value).lower())


_SEVERITY_ORDER = ["none", "low", "medium", "high", "critical"]


class GeoPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    lat: float
    lon: float


# -- what an item carries beyond its text: the stored ``extra`` JSON, typed --------------------

class _Part(BaseModel):
    """A typed part of ``extra``. Strict: a part is typed only when it reads back as the same JSON
    (see ItemExtra.from_json); otherwise it stays the JSON it was."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid", populate_by_name=True)

    # Keys written only when set (the writers leave them out rather than write null).
    _optional: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _leave_out_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if v is not None or k not in self._optional}

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class OfficialAdvisory(_Part):
    """``extra["advisory"]``: one issuer's statement about one country, or one hazard in it (see
    monitor/official/scale.py for the one 1-4 scale)."""

    _optional = frozenset({"scope", "also"})

    issuer: str
    country: str | None
    level: int | None
    parts: bool
    label: str
    # "country": the country's standing level; "event": one hazard (GDACS, CAP). A change item made
    # without an advisory of its own has none, and counts as "country".
    scope: Literal["country", "event"] | None = None
    # Further countries the same advisory covers (US "French West Indies"); written only when some.
    also: list[str] | None = None

    @property
    def country_level(self) -> bool:
        return self.scope in (None, "country")


class AdvisoryChange(_Part):
    """``extra["advisory_change"]``: a level change item's change (monitor/official/changes.py)."""

    change: Literal["raised", "lowered", "parts"]
    old: int
    new: int
    old_parts: bool
    parts: bool
    old_label: str
    label: str
    issuer: str
    country: str
    observed_at: str
    advisory_item: str | None


class CapCircle(_Part):
    lat: float
    lon: float
    radius_km: float


class CapArea(_Part):
    _optional = frozenset({"desc", "polygons", "circles", "geocodes"})

    desc: str | None = None
    polygons: list[list[list[float]]] | None = None  # rings of [lat, lon]
    circles: list[CapCircle] | None = None
    geocodes: dict[str, str] | None = None


class CapAlert(_Part):
    """``extra["cap"]``: a CAP alert's identity and areas; an index entry carrying CAP fields
    inline has only its message type and area description. Every key is optional: what CAP
    documents send is not trusted to be complete, and readers take what there is."""

    _optional = frozenset({"identifier", "sender", "msgType", "references", "areas", "instruction"})

    identifier: str | None = None
    sender: str | None = None
    msg_type: str | None = Field(default=None, alias="msgType")
    references: list[str] | None = None
    areas: list[CapArea] | None = None
    instruction: str | None = None  # a traveller's digest shows it as advice


class FcdoAdvice(_Part):
    """``extra["fcdo"]``: what the FCDO content item states besides the level."""

    alert_status: list[str]
    change_description: str
    update_type: str | None
    parts: list[str]


class GeoRssShape(_Part):
    """``extra["geometry"]``: a GeoRSS line, polygon or box, coordinates as GeoJSON nests them."""

    type: str
    coordinates: list[Any]


class Enclosure(_Part):
    _optional = frozenset({"type", "length"})

    href: str
    type: str | None = None
    length: str | None = None


@dataclass(frozen=True)
class GdacsEvent:
    """The ``gdacs:`` elements of a GDACS entry, as the feed gives them ("" when absent)."""

    event_type: str
    event_id: str
    episode_id: str
    alert_level: str
    iso3: str
    country: str
    bbox: str


class ItemExtra(BaseModel):
    """What an entry or item carries beyond its text: the official and CAP fields, feed categories
    and shapes, and every other simple feed element (``feed``: the ``gdacs_*`` ones among them).

    Stored as one flat JSON object (the ``extra`` column), the same as before it was typed:
    ``from_json`` reads it, ``to_json`` writes it. A part is typed only when it reads back as the
    same JSON object; anything else (a feed element that happens to share a name) stays JSON in
    ``feed``. Keys come out in the order every writer has used (feed parsing, then the issuer's).
    User templates read ``item.extra`` as they always have: ``get``, ``[]`` and ``in`` see the JSON.
    """

    model_config = ConfigDict(frozen=True)

    category_domains_all: dict[str, list[str]] | None = None
    geometry: GeoRssShape | None = None
    feed: dict[str, Any] = Field(default_factory=dict)
    enclosures: list[Enclosure] | None = None
    cap: CapAlert | None = None
    advisory: OfficialAdvisory | None = None
    fcdo: FcdoAdvice | None = None
    advisory_change: AdvisoryChange | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ItemExtra:
        fields: dict[str, Any] = {}
        feed: dict[str, Any] = {}
        for key, value in data.items():
            typed = _typed_part(key, value)
            if typed is None:
                feed[key] = value
            else:
                fields[key] = typed
        return cls(feed=feed, **fields)

    def to_json(self) -> dict[str, Any]:
        # The order the writers have always used: feed parsing, then the issuer's fields.
        out: dict[str, Any] = {}
        if self.category_domains_all is not None:
            out["category_domains_all"] = self.category_domains_all
        if self.geometry is not None:
            out["geometry"] = self.geometry.to_json()
        out.update(self.feed)
        if self.enclosures is not None:
            out["enclosures"] = [e.to_json() for e in self.enclosures]
        for key in ("cap", "advisory", "fcdo", "advisory_change"):
            part: _Part | None = getattr(self, key)
            if part is not None:
                out[key] = part.to_json()
        return out

    @property
    def gdacs(self) -> GdacsEvent:
        def text(key: str) -> str:
            value = self.feed.get(f"gdacs_{key}")
            return value if isinstance(value, str) else ""

        return GdacsEvent(text("eventtype"), text("eventid"), text("episodeid"), text("alertlevel"),
                          text("iso3"), text("country"), text("bbox"))

    # The JSON view, for user templates (and anything else that read the dict).
    def get(self, key: str, default: Any = None) -> Any:
        return self.to_json().get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.to_json()[key]

    def __contains__(self, key: object) -> bool:
        return key in self.to_json()


_PARTS: dict[str, type[_Part]] = {
    "geometry": GeoRssShape, "cap": CapAlert, "advisory": OfficialAdvisory, "fcdo": FcdoAdvice,
    "advisory_change": AdvisoryChange,
}


def _typed_part(key: str, value: Any) -> Any:
    """The typed form of one ``extra`` key's JSON, or None when it does not read back the same."""
    try:
        if key in _PARTS:
            part = _PARTS[key].model_validate(value)
            return part if _same_json(part.to_json(), value) else None
        if key == "enclosures" and isinstance(value, list):
            found = [Enclosure.model_validate(v) for v in value]
            return found if [e.to_json() for e in found] == value else None
        if key == "category_domains_all" and isinstance(value, dict) and all(
                isinstance(v, list) and all(isinstance(t, str) for t in v) for v in value.values()):
            return value
    except ValidationError:
        return None
    return None


def _same_json(typed: dict[str, Any], value: Any) -> bool:
    # Equal as JSON objects: keys come back in the order the writers have always used.
    return isinstance(value, dict) and typed == value


def _extra_in(value: Any) -> Any:
    return ItemExtra.from_json(value) if isinstance(value, Mapping) else value


# ``extra`` as entries and items hold it: typed, read from and written as the flat JSON.
Extra = Annotated[ItemExtra, BeforeValidator(_extra_in), PlainSerializer(ItemExtra.to_json, return_type=dict[str, Any])]


class RawEntry(BaseModel):
    """What a source yields: one article or feed entry, before extraction."""

    model_config = ConfigDict(frozen=True)

    source: str
    guid: str | None = None
    link: str | None = None
    title: str = ""
    body: str = ""
    body_is_html: bool = False
    published: datetime | None = None
    updated: datetime | None = None
    author: str | None = None
    categories: list[str] = Field(default_factory=list)
    category_domains: dict[str, str] = Field(default_factory=dict)
    points: list[GeoPoint] = Field(default_factory=list)
    # Where a files source found the article, relative to its folder: the file's identity.
    path: str | None = None
    extra: Extra = Field(default_factory=ItemExtra)


@dataclass(frozen=True)
class PollResult:
    """What one poll of a source brings: its entries, or why there are none (not modified, gone),
    and the validators and new address to keep for the next poll."""

    entries: list[RawEntry]
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    warnings: list[str] = field(default_factory=list)
    permanent_url: str | None = None
    gone: bool = False


class Item(BaseModel):
    """A normalised article as stored: clean text, stable id, provenance."""

    id: str
    source: str
    guid: str | None = None
    url: str | None = None
    title: str
    text: str
    published: datetime | None = None
    first_seen: datetime
    updated_at: datetime | None = None
    author: str | None = None
    categories: list[str] = Field(default_factory=list)
    category_domains: dict[str, str] = Field(default_factory=dict)
    points: list[GeoPoint] = Field(default_factory=list)
    content_hash: str
    version: int = 1
    extra: Extra = Field(default_factory=ItemExtra)


class Evidence(BaseModel):
    """A span of the classified text (title + blank line + body) that supports a call."""

    model_config = ConfigDict(frozen=True)

    text: str
    start: int
    end: int


RegionKind = Literal["country", "region", "city", "subregion", "continent"]


class RegionHit(BaseModel):
    id: str
    name: str
    kind: RegionKind
    country: str | None = None
    role: Literal["primary", "mentioned"] = "mentioned"
    score: float = 0.0
    evidence: list[Evidence] = Field(default_factory=list)


class ThreatHit(BaseModel):
    type: str
    score: float = 0.0
    evidence: list[Evidence] = Field(default_factory=list)
    # Region ids the threat's evidence co-occurs with (same sentence).
    regions: list[str] = Field(default_factory=list)


class Classification(BaseModel):
    item_id: str | None = None
    title: str = ""
    source: str = ""
    countries: list[str] = Field(default_factory=list)
    regions: list[RegionHit] = Field(default_factory=list)
    threats: list[ThreatHit] = Field(default_factory=list)
    severity: Severity = Severity.none
    severity_evidence: list[Evidence] = Field(default_factory=list)
    rules_version: str = ""


class IncidentNote(BaseModel):
    """The incident a digest entry stands for: its best report is the entry's item; ``items`` are
    all its reports this digest claims. ``update``: an escalation of an incident already sent."""

    id: str
    revision: int = 0
    update: bool = False
    sources: list[str] = Field(default_factory=list)
    source_count: int = 1
    changed: dict[str, Any] = Field(default_factory=dict)
    line: str = ""
    items: list[str] = Field(default_factory=list)


class DigestEntry(BaseModel):
    """One matched item in a digest, with why it matched (and the incident it stands for, if any)."""

    item: Item
    classification: Classification
    # Region ids / threat ids / keywords of the alert rule that this item satisfied.
    matched_regions: list[str] = Field(default_factory=list)
    matched_threats: list[str] = Field(default_factory=list)
    matched_keywords: list[str] = Field(default_factory=list)
    # One line for the reader: which rule, which words.
    why: str = ""
    incident: IncidentNote | None = None


class Digest(BaseModel):
    """What one alert sends at once. Its id is the idempotency key of every delivery of it."""

    id: str
    alert: str
    created_at: datetime
    timezone: str = "UTC"
    entries: list[DigestEntry] = Field(default_factory=list)


class RenderedDigest(BaseModel):
    """A digest rendered for delivery: email subject and parts, and the webhook/file JSON payload."""

    digest_id: str
    subject: str
    text: str
    html: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class ItemFacts:
    """What matching needs to know of one classified item."""

    id: str
    source: str
    regions: frozenset[str]
    threats: frozenset[str]
    severity: int
    dated: datetime  # published, or first stored when the item has no date of its own
    text: str = ""   # title and body; only loaded when some rule has keywords
    # Official items only: the level (1-4) they state and, for a level change item, its kind.
    level: int | None = None
    advisory_change: str | None = None
    # Sites the item lies within (monitor/travel/sites.py): name -> km from the site's centre, or None
    # when the item is about the site's whole country (matches only with include_country).
    near: Mapping[str, float | None] = field(default_factory=dict)
    # When the monitor first stored the item (None: take ``dated``). A trip's leg wants the items
    # that reach the monitor while it is current, whatever date they carry.
    seen: datetime | None = None
    # Whether the item's incident is breaking (monitor/incidents/); read only when a rule asks.
    breaking: bool = False

    @property
    def arrived(self) -> datetime:
        return self.seen or self.dated

    def with_near(self, near: Mapping[str, float | None]) -> ItemFacts:
        """A copy with ``near`` set (as dataclasses.replace, a tenth of the cost: the site locator
        makes one per located item)."""
        copy = object.__new__(ItemFacts)
        copy.__dict__.update(self.__dict__, near=near)
        return copy
