"""Official sources: fetching documents that are not RSS/Atom (JSON APIs, CAP XML).

The same machinery as the feed source (``monitor.sources.feeds.fetch_body``): one shared client
(``make_client``), conditional GET, the source's ``timeout`` as a deadline for the whole fetch,
bodies cut at ``max_bytes``, redirects checked and reported. Only the parsing differs, so this
module reuses the feed source's request code and adds a JSON body check.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from monitor.config import FeedSource, OfficialPreset
from monitor.errors import SourceError
from monitor.models import PollResult
from monitor.sources.feeds import Body, fetch_body
from monitor.sources.parsepool import CURRENT_POOL, ParseBudgetExceeded, WorkerDied

JSON_ACCEPT = "application/json, text/json;q=0.9, */*;q=0.1"

# A fetched document: the feed source's body, read under the same policy.
Document = Body


def as_feed_source(source: OfficialPreset, *, url: str | None = None, json: bool = False) -> FeedSource:
    """The preset seen as a plain feed source, so the feed source's fetch machinery applies."""
    headers = dict(source.headers)
    if json:
        headers.setdefault("Accept", JSON_ACCEPT)
    return FeedSource.model_construct(
        kind="feed", name=source.name, url=url or source.url, every=source.every, enabled=source.enabled,
        timeout=source.timeout, max_bytes=source.max_bytes, parse_timeout=source.parse_timeout, headers=headers,
    )


# Fetch one document (the preset seen as a feed source, see ``as_feed_source``); a PollResult
# without entries when not modified or gone.
fetch_document = fetch_body


def load_json(source_name: str, doc: Document) -> Any:
    """The JSON value of a document, or a SourceError saying what it is instead."""
    if doc.truncated:
        raise SourceError(source_name, f"the JSON document is larger than the size cap ({len(doc.data)} bytes read)",
                          "raise this source's max_bytes")
    text = doc.data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        raise SourceError(source_name, f"empty document from {doc.url}")
    if text[:1] == b"<":
        raise SourceError(source_name, f"expected JSON from {doc.url}, got markup (an HTML or XML page)",
                          "check that the url points at the JSON endpoint")
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(source_name, f"not valid JSON from {doc.url}: {exc}") from exc


async def parse_in_thread(source: FeedSource, fn: Any, *args: Any) -> Any:
    """Run a parser off the event loop, bounded by the source's ``parse_timeout``: in the poll's
    worker processes where there are some (killed past the budget), else in a thread."""
    budget = source.parse_timeout.total_seconds()
    pool = CURRENT_POOL.get()
    try:
        if pool is not None:
            return await pool.run(fn, *args, timeout=budget)
        return await asyncio.wait_for(asyncio.to_thread(fn, *args), budget)
    except (TimeoutError, ParseBudgetExceeded) as exc:
        raise SourceError(source.name, f"parse exceeded {budget:g} s budget: the document may be hostile or huge",
                          "raise the source's parse_timeout if it is just large") from exc
    except WorkerDied as exc:
        raise SourceError(source.name, "the parser process died on this document: it may be hostile or corrupt") \
            from exc


async def fetch_json_entries(source: OfficialPreset, client: httpx.AsyncClient, *, etag: str | None,
                             last_modified: str | None, parser: Any) -> PollResult:
    """Fetch a preset's JSON document and turn it into entries with ``parser(source_name, data)``."""
    plain = as_feed_source(source, json=True)
    doc = await fetch_document(plain, client, etag=etag, last_modified=last_modified)
    if not isinstance(doc, Document):
        return doc
    data = load_json(source.name, doc)
    entries = await parse_in_thread(plain, parser, source.name, data)
    return PollResult(entries, etag=doc.etag, last_modified=doc.last_modified,
                             permanent_url=doc.permanent_url)
