"""The ``sources:`` models: folders, feeds and the official advisory presets."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from monitor.config.base import Duration, Interval, RelPath, Strict, relative_path


class FilesSource(Strict):
    """A folder of articles, one per file (.txt, .md, .html)."""

    kind: Literal["files"]
    name: str
    path: RelPath
    every: Interval = timedelta(hours=1)
    enabled: bool = True
    extensions: tuple[str, ...] = (".txt", ".md", ".html", ".htm")


class _FetchedSource(Strict):
    """Keys of every source fetched from a URL: a feed or an official preset."""

    name: str
    url: str
    every: Interval = timedelta(hours=1)
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
        return str(relative_path(Path(value), info))


class FeedSource(_FetchedSource):
    """An RSS 0.9x/1.0/2.0 or Atom feed: an http(s) URL, a file:// URL or a local path."""

    kind: Literal["feed"]


class OfficialSource(_FetchedSource):
    """Keys shared by the official advisory presets (monitor/official/): each preset
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
    every: Interval = timedelta(hours=6)
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
    every: Interval = timedelta(minutes=15)


class CapSource(OfficialSource):
    """CAP 1.x alerts: one alert, or a CAP Atom/RSS index (default: US NWS active alerts)."""

    kind: Literal["cap"]
    url: str = "https://api.weather.gov/alerts/active.atom"
    every: Interval = timedelta(minutes=15)
    # Fetch the CAP document behind each index entry that does not carry the CAP fields itself.
    follow_links: bool = True
    max_alerts: int = Field(default=200, gt=0)


OfficialPreset = UsStateDeptSource | FcdoSource | CanadaSource | SmartravellerSource | GdacsSource | CapSource
OFFICIAL_KINDS = ("us-state-dept", "fcdo", "canada", "smartraveller", "gdacs", "cap")
AnySource = FilesSource | FeedSource | OfficialPreset
Source = Annotated[AnySource, Field(discriminator="kind")]
