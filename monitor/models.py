"""Plain models passed between stages: entries, items, classifications, match facts, digests."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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
    extra: dict[str, Any] = Field(default_factory=dict)


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
    extra: dict[str, Any] = Field(default_factory=dict)


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


class DigestEntry(BaseModel):
    """One matched item in a digest, with why it matched."""

    item: Item
    classification: Classification
    # Region ids / threat ids / keywords of the alert rule that this item satisfied.
    matched_regions: list[str] = Field(default_factory=list)
    matched_threats: list[str] = Field(default_factory=list)
    matched_keywords: list[str] = Field(default_factory=list)
    # One line for the reader: which rule, which words.
    why: str = ""


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

    @property
    def arrived(self) -> datetime:
        return self.seen or self.dated

    def with_near(self, near: Mapping[str, float | None]) -> ItemFacts:
        """A copy with ``near`` set (as dataclasses.replace, a tenth of the cost: the site locator
        makes one per located item)."""
        copy = object.__new__(ItemFacts)
        copy.__dict__.update(self.__dict__, near=near)
        return copy
