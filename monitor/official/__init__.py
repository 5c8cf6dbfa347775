"""Official advisory sources: presets that read each issuer's own format into RawEntry models.

One module per issuer (``us``, ``fcdo``, ``canada``, ``smartraveller``, ``gdacs``, ``cap``), plus
``scale`` (the structured advisory fields and the one 1-4 scale), ``countries`` (FIPS, ISO3 and
names to ISO alpha-2), ``fetch`` (JSON and XML documents through the feed source's fetch policy)
and ``changes`` (level changes between polls, and official fields beating text guesses). Like
every source, the presets yield raw entries and never touch the store; ``POLLERS`` gives the
pipeline a ``monitor.sources.poll.Source`` for each preset kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from monitor.config import OfficialPreset
from monitor.models import PollResult
from monitor.official import canada, cap, fcdo, gdacs, smartraveller, us
from monitor.official.fetch import as_feed_source
from monitor.sources.poll import FetchedPoller, SourceFactory

__all__ = ["POLLERS", "OfficialPoller", "as_feed_source", "fetch_official"]

_Fetch = Callable[..., Awaitable[PollResult]]

# Each preset's fetch, by the config's ``kind``.
_FETCHERS: dict[str, _Fetch] = {
    "us-state-dept": us.fetch, "fcdo": fcdo.fetch, "canada": canada.fetch,
    "smartraveller": smartraveller.fetch, "gdacs": gdacs.fetch, "cap": cap.fetch,
}


class OfficialPoller(FetchedPoller):
    """An official preset as the pipeline polls it: fetched, its entries stating advisory levels."""

    tracks_levels = True

    async def fetch(self, source: OfficialPreset, client: httpx.AsyncClient, *, etag: str | None,
                    last_modified: str | None) -> PollResult:
        return await fetch_official(source, client, etag=etag, last_modified=last_modified)


POLLERS: dict[str, SourceFactory] = dict.fromkeys(_FETCHERS, OfficialPoller)


async def fetch_official(source: OfficialPreset, client: httpx.AsyncClient, *, etag: str | None,
                         last_modified: str | None) -> PollResult:
    """Fetch and parse one official source. Raises SourceError, with a specific message, on failure."""
    return await _FETCHERS[source.kind](source, client, etag=etag, last_modified=last_modified)
