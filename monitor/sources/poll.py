"""The seam between the pipeline and the sources: the ``Source`` protocol every source kind meets.

The pipeline makes one ``Source`` per configured source from a registry keyed by the config's
``kind`` (``POLLERS`` here for files and feeds, ``monitor.official.POLLERS`` for the official
presets) and only ever calls what the protocol names. A new source kind is a config model, a
class meeting ``Source`` and one registry entry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from monitor.models import PollResult

if TYPE_CHECKING:
    import httpx

    from monitor.config import FeedSource, FilesSource

__all__ = ["POLLERS", "FeedPoller", "FetchedPoller", "FilesPoller", "PollResult", "Poller", "Source", "SourceFactory"]


class Source(Protocol):
    """A configured source, ready to poll: what the pipeline calls on any source kind."""

    @property
    def name(self) -> str: ...

    @property
    def fetched(self) -> bool:
        """Fetched from a URL: it takes the shared HTTP client, answers conditional GETs (the
        validators in its PollResult are kept for the next poll) and may move or go."""
        ...

    @property
    def tracks_levels(self) -> bool:
        """Its entries may state a country's standing advisory level, compared poll to poll."""
        ...

    async def poll(self, client: httpx.AsyncClient | None, *, etag: str | None, last_modified: str | None,
                   moved_to: str | None) -> PollResult:
        """One poll. ``moved_to`` is where a permanent redirect said the source now is. Raises
        SourceError, with a specific message, when the source cannot be read."""
        ...


# Makes the Source of one configured source; registries map a config ``kind`` to one.
SourceFactory = Callable[[Any], Source]


class Poller:
    """What every poller shares: its configured source and the name the pipeline reports it by."""

    fetched = False
    tracks_levels = False

    def __init__(self, config: Any) -> None:
        self.config = config

    @property
    def name(self) -> str:
        return str(self.config.name)


class FilesPoller(Poller):
    """A folder of articles: read in a thread, no client, no validators."""

    config: FilesSource

    async def poll(self, client: httpx.AsyncClient | None, *, etag: str | None, last_modified: str | None,
                   moved_to: str | None) -> PollResult:
        from monitor.sources.files import poll_files

        return await asyncio.to_thread(poll_files, self.config)


class FetchedPoller(Poller):
    """A source read from a URL: polled with the shared client at its new address once it moved."""

    fetched = True

    async def poll(self, client: httpx.AsyncClient | None, *, etag: str | None, last_modified: str | None,
                   moved_to: str | None) -> PollResult:
        source = self.config.model_copy(update={"url": moved_to}) if moved_to else self.config
        assert client is not None, "a fetched source is polled with the shared client"
        return await self.fetch(source, client, etag=etag, last_modified=last_modified)

    async def fetch(self, source: Any, client: httpx.AsyncClient, *, etag: str | None,
                    last_modified: str | None) -> PollResult:
        raise NotImplementedError


class FeedPoller(FetchedPoller):
    """An RSS/Atom feed, at a URL or in a local file."""

    async def fetch(self, source: FeedSource, client: httpx.AsyncClient, *, etag: str | None,
                    last_modified: str | None) -> PollResult:
        from monitor.sources.feeds import fetch_feed

        return await fetch_feed(source, client, etag=etag, last_modified=last_modified)


POLLERS: dict[str, SourceFactory] = {"files": FilesPoller, "feed": FeedPoller}
