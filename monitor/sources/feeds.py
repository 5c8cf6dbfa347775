"""Feed source: fetch an RSS/Atom feed (HTTP with conditional GET, or a local file) and parse it.

HTTP status policy, after rss2email: 304 skips, 301/308 chains report the new permanent URL,
410 retires the feed, any other 4xx/5xx is a SourceError naming the status. Redirects are
followed here rather than by httpx so that a loop is reported as a loop and a redirect can
never leave http(s). The source's ``timeout`` is a deadline for the whole fetch, not only per
socket operation, so a server that drips one byte a second cannot hold a poll forever.

Bodies are read as a stream and cut at ``max_bytes``: what fits is parsed, the last (possibly
cut) entry is dropped, and a warning says so. Feeds list the newest entries first, so a feed
that grew too big still yields its news; raising ``max_bytes`` gets the rest.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from monitor import __version__
from monitor.config import FeedSource
from monitor.errors import SourceError
from monitor.models import PollResult
from monitor.sources.feedparsing import parse_feed
from monitor.sources.parsepool import CURRENT_POOL, ParseBudgetExceeded, ParsePool, WorkerDied
from monitor.support.redact import redact_url

__all__ = ["MAX_REDIRECTS", "USER_AGENT", "Body", "FetchResult", "PollResult", "fetch_body", "fetch_feed",
           "make_client", "parse_feed"]

log = logging.getLogger(__name__)

USER_AGENT = f"advisory-monitor/{__version__} (+https://github.com/advisory-monitor)"
MAX_REDIRECTS = 5
_ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
           "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_STATUS_HINTS = {
    401: "the feed needs credentials; add them to this source's headers",
    403: "the server refuses us; check the url, or whether it blocks automated clients",
    404: "check the url; the feed may have moved",
    429: "the server is rate-limiting us; poll this source less often (every:)",
}


# The name this module gave a poll's result before every source kind shared one.
FetchResult = PollResult


def make_client(*, max_connections: int = 32) -> httpx.AsyncClient:
    """The shared HTTP client. Callers still bound how many fetches run at once (a semaphore):
    the pool limit only queues requests, and queued time counts against each source's deadline."""
    return httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT, "Accept": _ACCEPT},
        timeout=httpx.Timeout(20.0, connect=10.0),
        follow_redirects=False,
        max_redirects=MAX_REDIRECTS,
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
    )


@dataclass
class Body:
    """A fetched body, cut at the source's ``max_bytes`` (``truncated`` then says so)."""

    data: bytes
    truncated: bool
    url: str
    headers: dict[str, str]
    etag: str | None
    last_modified: str | None
    permanent_url: str | None


def _local_path(source: FeedSource) -> Path | None:
    url = source.url
    if url.lower().startswith("file:"):
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise SourceError(source.name, f"file URL names a remote host ({parts.netloc}): {url}")
        return Path(url2pathname(parts.path))
    if "://" not in url:
        return Path(url)
    return None


def _read_local(source: FeedSource, path: Path, etag: str | None) -> Body | PollResult:
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            # a FIFO or device would block or never end; a folder belongs to a files source
            raise SourceError(source.name, f"not a regular file: {path}")
        validator = f'"file-{st.st_mtime_ns:x}-{st.st_size:x}"'
        modified = email.utils.format_datetime(datetime.fromtimestamp(st.st_mtime, UTC), usegmt=True)
        if etag == validator:
            return PollResult([], not_modified=True, etag=validator, last_modified=modified)
        with path.open("rb") as f:
            data = f.read(source.max_bytes + 1)
    except FileNotFoundError as exc:
        raise SourceError(source.name, f"no such file: {path}", "check the source's url") from exc
    except PermissionError as exc:
        raise SourceError(source.name, f"permission denied reading {path}") from exc
    except OSError as exc:
        raise SourceError(source.name, f"cannot read {path}: {exc.strerror or exc}") from exc
    truncated = len(data) > source.max_bytes
    return Body(data[: source.max_bytes], truncated, str(path), {}, validator, modified, None)


async def _read_capped(response: httpx.Response, cap: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        room = cap - size
        if len(chunk) > room:
            chunks.append(chunk[:room])
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False


async def _get(
    source: FeedSource, client: httpx.AsyncClient, etag: str | None, last_modified: str | None
) -> Body | PollResult:
    seconds = source.timeout.total_seconds()
    timeout = httpx.Timeout(seconds, connect=min(seconds, 10.0))
    headers = dict(source.headers)
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    chain = [source.url]
    permanent = True
    for _ in range(MAX_REDIRECTS + 1):
        url = chain[-1]
        async with client.stream("GET", url, headers=headers, timeout=timeout) as response:
            status = response.status_code
            moved = chain[-1] if len(chain) > 1 and permanent else None
            if status in _REDIRECTS:
                location = response.headers.get("location")
                if not location:
                    raise SourceError(source.name, f"HTTP {status} redirect without a Location from {url}")
                target = str(response.url.join(location))
                if urlsplit(target).scheme not in ("http", "https"):
                    raise SourceError(source.name, f"refused a redirect from {url} to a non-HTTP address: {target}")
                permanent = permanent and status in _PERMANENT
                if target in chain:
                    raise SourceError(
                        source.name, f"redirect loop: {' -> '.join([*chain, target])}",
                        "the server redirects in a circle; tell its operator or use another url",
                    )
                chain.append(target)
                continue
            if status == 304:
                return PollResult(
                    [], not_modified=True, etag=response.headers.get("etag") or etag,
                    last_modified=response.headers.get("last-modified") or last_modified, permanent_url=moved,
                )
            if status == 410:
                return PollResult([], gone=True, permanent_url=moved)
            if status >= 400 or not 200 <= status < 300:
                reason = response.reason_phrase or ""
                retry = response.headers.get("retry-after")
                extra = f" (Retry-After: {retry})" if retry else ""
                raise SourceError(
                    source.name, f"HTTP {status} {reason} from {url}{extra}".replace("  ", " "),
                    _STATUS_HINTS.get(status, "the server failed; it is retried with backoff" if status >= 500
                                      else None),
                )
            data, truncated = await _read_capped(response, source.max_bytes)
            return Body(data, truncated, str(response.url), dict(response.headers),
                         response.headers.get("etag"), response.headers.get("last-modified"), moved)
    raise SourceError(
        source.name, f"more than {MAX_REDIRECTS} redirects: {' -> '.join(chain)}",
        "point the source's url at the final address",
    )


def _transport_error(source: FeedSource, exc: httpx.HTTPError | httpx.InvalidURL) -> SourceError:
    where = source.url
    if isinstance(exc, httpx.TimeoutException):
        kind = {httpx.ConnectTimeout: "connecting", httpx.ReadTimeout: "waiting for data",
                httpx.WriteTimeout: "sending", httpx.PoolTimeout: "waiting for a free connection"}
        return SourceError(source.name, f"timed out {kind.get(type(exc), 'talking to the server')} "
                           f"({source.timeout.total_seconds():g}s) at {where}")
    if isinstance(exc, httpx.ConnectError):
        return SourceError(source.name, f"could not connect to {where}: {exc}",
                           "check the host name, the network, or whether the server is up")
    if isinstance(exc, httpx.DecodingError):
        return SourceError(source.name, f"could not decode the response body from {where}: {exc}")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return SourceError(source.name, f"invalid url {where}: {exc}")
    return SourceError(source.name, f"HTTP transfer from {where} failed: {type(exc).__name__}: {exc}")


async def fetch_body(
    source: FeedSource, client: httpx.AsyncClient, *, etag: str | None, last_modified: str | None,
) -> Body | PollResult:
    """Fetch one body under the source's policy (deadline, size cap, redirects, conditional GET);
    a PollResult without entries when not modified or gone. Raises SourceError on any failure.
    Official sources fetch their JSON and CAP documents through it too."""
    deadline = source.timeout.total_seconds()
    try:
        async with asyncio.timeout(deadline):
            path = _local_path(source)
            if path is not None:
                return await asyncio.to_thread(_read_local, source, path, etag)
            return await _get(source, client, etag, last_modified)
    except TimeoutError as exc:
        raise SourceError(
            source.name, f"no complete response within {deadline:g}s from {source.url}",
            "the server is too slow or hangs; raise the source's timeout if it is just slow",
        ) from exc
    except httpx.InvalidURL as exc:
        raise _transport_error(source, exc) from exc  # raised before any request, outside HTTPError
    except httpx.HTTPError as exc:
        raise _transport_error(source, exc) from exc


async def fetch_feed(
    source: FeedSource, client: httpx.AsyncClient, *, etag: str | None, last_modified: str | None,
    pool: ParsePool | None = None,
) -> PollResult:
    """Fetch and parse one feed. Raises SourceError, with a specific message, on any failure.

    With a ``pool`` the parse runs in a worker process that is killed past the budget; without
    one (tools, tests) it runs in a thread that cannot be stopped."""
    got = await fetch_body(source, client, etag=etag, last_modified=last_modified)
    if isinstance(got, PollResult):
        log.debug("%s: %s", source.name, "not modified" if got.not_modified else "gone (410)")
        return got
    budget = source.parse_timeout.total_seconds()
    pool = pool or CURRENT_POOL.get()
    # The feed's address is the base for its relative links: without its credentials, so that no
    # stored link (nor an id made from one) carries them.
    got.url = redact_url(got.url)
    try:
        if pool is not None:
            entries, warnings = await pool.run(parse_feed, source.name, got.data, url=got.url,
                                               headers=got.headers, truncated=got.truncated, timeout=budget)
        else:
            entries, warnings = await asyncio.wait_for(
                asyncio.to_thread(parse_feed, source.name, got.data, url=got.url, headers=got.headers,
                                  truncated=got.truncated), budget)
    except (TimeoutError, ParseBudgetExceeded) as exc:
        raise SourceError(
            source.name, f"parse exceeded {budget:g} s budget: the feed may be hostile or huge "
            f"({len(got.data)} bytes)", "raise the source's parse_timeout if the feed is just large",
        ) from exc
    except WorkerDied as exc:
        raise SourceError(source.name, f"the parser process died on this feed ({len(got.data)} bytes): "
                          "it may be hostile (an entity bomb) or corrupt") from exc
    for warning in warnings:
        log.debug("%s: %s", source.name, warning)
    return PollResult(entries, etag=got.etag, last_modified=got.last_modified, warnings=warnings,
                       permanent_url=got.permanent_url)

