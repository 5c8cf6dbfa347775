"""Official advisory sources: presets that read each issuer's own format into RawEntry models.

One module per issuer (``us``, ``fcdo``, ``canada``, ``smartraveller``, ``gdacs``, ``cap``), plus
``scale`` (the structured ``extra["advisory"]`` fields and the one 1-4 scale), ``countries``
(FIPS, ISO3 and names to ISO alpha-2) and ``fetch`` (JSON and XML documents through the feed
source's fetch policy). Like every source, they yield raw entries and never touch the store.
"""

from __future__ import annotations

from typing import Any

import httpx

from monitor.config import FeedSource, OfficialPreset
from monitor.sources.feeds import FetchResult

__all__ = ["as_feed_source", "fetch_official"]


def as_feed_source(source: OfficialPreset, *, url: str | None = None, json: bool = False) -> FeedSource:
    """The preset seen as a plain feed source, so the feed source's fetch machinery applies."""
    headers = dict(source.headers)
    if json:
        from monitor.official.fetch import JSON_ACCEPT

        headers.setdefault("Accept", JSON_ACCEPT)
    return FeedSource.model_construct(
        kind="feed", name=source.name, url=url or source.url, every=source.every, enabled=source.enabled,
        timeout=source.timeout, max_bytes=source.max_bytes, parse_timeout=source.parse_timeout, headers=headers,
    )


async def fetch_official(source: OfficialPreset, client: httpx.AsyncClient, *, etag: str | None,
                         last_modified: str | None) -> FetchResult:
    """Fetch and parse one official source. Raises SourceError, with a specific message, on failure."""
    module: Any
    if source.kind == "us-state-dept":
        from monitor.official import us as module
    elif source.kind == "fcdo":
        from monitor.official import fcdo as module
    elif source.kind == "canada":
        from monitor.official import canada as module
    elif source.kind == "smartraveller":
        from monitor.official import smartraveller as module
    elif source.kind == "gdacs":
        from monitor.official import gdacs as module
    else:
        from monitor.official import cap as module
    result: FetchResult = await module.fetch(source, client, etag=etag, last_modified=last_modified)
    return result
