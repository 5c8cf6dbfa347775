"""The whole configuration file as one model, and the settings that belong to no other part."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from monitor.config.alerting import AlertRule
from monitor.config.base import Duration, RelPath, Strict, relative_path, require_unique
from monitor.config.delivery import SmtpConfig
from monitor.config.sources import AnySource, Source
from monitor.config.travel import SiteSpec, TravelConfig


class ServerConfig(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, lt=65536)


class DedupConfig(Strict):
    """Near-duplicate detection: estimated Jaccard similarity of word shingles at or above
    ``threshold`` makes an item a copy of an earlier one."""

    enabled: bool = True
    threshold: float = Field(default=0.8, gt=0, le=1)
    shingle_words: int = Field(default=4, ge=1, le=10)


class BreakingConfig(Strict):
    """An incident is ``breaking`` when this many distinct sources reported it within ``within``."""

    sources: int = Field(default=3, ge=2)
    within: Duration = timedelta(hours=1)


class IncidentsConfig(Strict):
    """Grouping items into incidents (monitor/incidents/): two reports are one event when they share
    a place and a threat, their event sentences reach ``similarity``, and they are at most
    ``window`` apart (publication times)."""

    enabled: bool = True
    window: Duration = timedelta(hours=72)
    similarity: float = Field(default=0.27, gt=0, le=1)
    # An update is sent when casualties rise by at least this many (and this share of the last figure).
    casualties_step: int = Field(default=1, ge=1)
    casualties_ratio: float = Field(default=0.2, ge=0)
    breaking: BreakingConfig = Field(default_factory=BreakingConfig)


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


class Config(Strict):
    database: str = Field(default="sqlite:///monitor.db", validate_default=True)
    rules: list[RelPath] = Field(default_factory=list)
    sources: list[Source]
    smtp: SmtpConfig | None = None
    alerts: list[AlertRule] = Field(default_factory=list)
    server: ServerConfig | None = None
    templates: RelPath | None = None
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    incidents: IncidentsConfig = Field(default_factory=IncidentsConfig)
    workers: WorkersConfig = Field(default_factory=WorkersConfig)
    sites: list[SiteSpec] = Field(default_factory=list)
    travel: TravelConfig | None = None
    path: Path | None = Field(default=None, exclude=True)

    @field_validator("database")
    @classmethod
    def _resolve_sqlite(cls, value: str, info: ValidationInfo) -> str:
        prefix = "sqlite:///"
        if value.startswith(prefix) and value != "sqlite:///:memory:":
            return prefix + str(relative_path(Path(value[len(prefix):]), info))
        return value

    @field_validator("sources", "sites", "alerts")
    @classmethod
    def _unique_names(cls, value: list[Any], info: ValidationInfo) -> list[Any]:
        require_unique([entry.name for entry in value], {"sources": "source", "sites": "site"}.get(
            info.field_name or "", "alert"))
        return value

    def source(self, name: str) -> AnySource:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)
