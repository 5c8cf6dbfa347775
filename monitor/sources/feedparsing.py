"""Feed source, parsing: feed bytes to RawEntry models (the only place that sees feedparser dicts).

Pure and synchronous. The bytes are screened first (``xmlguard``: no external entity or DTD is
ever read, no entity bomb expands; ``charset``: a wrong declared charset is repaired), then
handed to feedparser *as a stream*: given bytes that look like a path or URL, feedparser would
open that path or URL itself.
"""

from __future__ import annotations

import io
import logging
import math
import re
import time
import xml.sax
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import feedparser

from monitor.errors import SourceError
from monitor.models import GeoPoint, ItemExtra, RawEntry
from monitor.sources.charset import repair_charset
from monitor.sources.xmlguard import AUTHOR_TEXT_MAX, cap_author_fields, screen_doctype

log = logging.getLogger(__name__)

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})
_SPACES = re.compile(r"\s+")
_TAGS = re.compile(r"<[^>]*>")
# Keys turned into RawEntry fields (or deliberately dropped); everything else simple goes to extra.
_CONSUMED = frozenset({
    "title", "summary", "content", "links", "link", "id", "guidislink", "published", "updated",
    "author", "authors", "tags", "where", "geo_lat", "geo_long", "geo_point", "georss_point",
})
_MAX_EXTRA_CHARS = 4096


def _text_of(html: str) -> str:
    """Plain text of a short HTML snippet such as a title."""
    if "<" not in html and "&" not in html:
        return html
    import lxml.html
    from lxml import etree

    try:
        return str(lxml.html.fragment_fromstring(html, create_parent="div").text_content())
    except (etree.ParserError, ValueError):
        return _TAGS.sub(" ", html)


def _clean(value: Any) -> str:
    return _SPACES.sub(" ", value).strip() if isinstance(value, str) else ""


def _utc(parsed: Any) -> datetime | None:
    if not isinstance(parsed, time.struct_time):
        return None
    try:
        return datetime(*parsed[:6], tzinfo=UTC)  # feedparser normalises *_parsed to UTC
    except (TypeError, ValueError, OverflowError):
        return None


def _point(lat: Any, lon: Any) -> GeoPoint | None:
    try:
        la, lo = float(lat), float(lon)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(la) and math.isfinite(lo) and -90 <= la <= 90 and -180 <= lo <= 180):
        return None
    return GeoPoint(lat=la, lon=lo)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


def _geo(e: dict[str, Any], extra: dict[str, Any]) -> list[GeoPoint]:
    where = e.get("where")
    if isinstance(where, Mapping):
        kind, coords = where.get("type"), where.get("coordinates")
        if kind == "Point" and isinstance(coords, tuple | list) and len(coords) >= 2:
            point = _point(coords[1], coords[0])  # GeoJSON order: lon, lat
            return [point] if point else []
        if kind and coords:
            extra["geometry"] = {"type": kind, "coordinates": _jsonable(coords)}
            return []
    point = _point(e.get("geo_lat"), e.get("geo_long"))
    return [point] if point else []


def _body(e: dict[str, Any]) -> tuple[str, bool]:
    content = e.get("content")
    if isinstance(content, list) and content:
        best = max(content, key=lambda c: len(c.get("value") or ""))
        value = best.get("value") or ""
        if value.strip():
            return value, best.get("type") in _HTML_TYPES
    detail = e.get("summary_detail")
    summary = e.get("summary")
    if isinstance(summary, str):
        kind = detail.get("type") if isinstance(detail, Mapping) else "text/html"
        return summary, kind in _HTML_TYPES
    return "", False


def _categories(e: dict[str, Any], extra: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    terms: list[str] = []
    domains: dict[str, str] = {}
    repeated: dict[str, list[str]] = {}
    for tag in e.get("tags") or ():
        term = _clean(tag.get("term") or tag.get("label"))
        if not term:
            continue
        terms.append(term)
        scheme = _clean(tag.get("scheme"))
        if scheme:
            domains.setdefault(scheme, term)
            repeated.setdefault(scheme, []).append(term)
    many = {k: v for k, v in repeated.items() if len(v) > 1}
    if many:
        extra["category_domains_all"] = many
    return terms, domains


def _extra(e: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in e.items():
        if key in _CONSUMED or key.endswith(("_detail", "_parsed")):
            continue
        if isinstance(value, str):
            extra[key] = value[:_MAX_EXTRA_CHARS]
        elif isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
            extra[key] = {str(k): v[:_MAX_EXTRA_CHARS] for k, v in value.items()}
    enclosures = [
        {k: link[k] for k in ("href", "type", "length") if isinstance(link.get(k), str)}
        for link in e.get("links") or ()
        if link.get("rel") == "enclosure" and link.get("href")
    ]
    if enclosures:
        extra["enclosures"] = enclosures


def _raw_entry(source: str, entry: Any) -> RawEntry:
    # dict methods, not FeedParserDict's: its key aliases warn (e.g. 'updated' -> 'published').
    e: dict[str, Any] = dict(entry)
    extra: dict[str, Any] = {}
    title_detail = e.get("title_detail")
    raw_title = e.get("title")
    title = raw_title if isinstance(raw_title, str) else ""
    if isinstance(title_detail, Mapping) and title_detail.get("type") in _HTML_TYPES:
        title = _text_of(title)
    guid = _clean(e.get("id")) or None
    link = _clean(e.get("link")) or None
    if link and e.get("guidislink") and link == guid and not link.startswith(("http://", "https://")):
        link = None  # an Atom id copied into link by feedparser, not an address
    body, is_html = _body(e)
    categories, domains = _categories(e, extra)
    points = _geo(e, extra)
    _extra(e, extra)
    author = _clean(e.get("author"))
    if not author and isinstance(e.get("author_detail"), Mapping):
        author = _clean(e["author_detail"].get("name") or e["author_detail"].get("email"))
    return RawEntry(
        source=source,
        guid=guid,
        link=link,
        title=_clean(title),
        body=body,
        body_is_html=is_html,
        published=_utc(e.get("published_parsed")),
        updated=_utc(e.get("updated_parsed")),
        author=author or None,
        categories=categories,
        category_domains=domains,
        points=points,
        extra=ItemExtra.from_json(extra),
    )


def _describe_problem(exc: BaseException | None) -> str:
    if isinstance(exc, xml.sax.SAXParseException):
        return f"malformed XML at line {exc.getLineNumber()}: {exc.getMessage()}"
    if exc is None:
        return "malformed feed"
    return str(exc) or type(exc).__name__


_MAGIC = {b"\x89PNG": "a PNG image", b"GIF8": "a GIF image", b"%PDF": "a PDF document",
          b"\x1f\x8b": "gzip data", b"PK\x03\x04": "a ZIP archive", b"\xff\xd8\xff": "a JPEG image"}


def _not_a_feed(source: str, data: bytes, problem: str | None) -> SourceError:
    """Say what the document looks like instead of a feed."""
    head = data[:4096]
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            return SourceError(source, f"not a feed: {what}")
    printable = sum(1 for b in head[:1024] if b >= 32 or b in (9, 10, 13))
    if b"\x00" in head[:1024] or printable < 0.9 * min(len(head), 1024):
        return SourceError(source, f"not a feed: binary data (starts with {head[:8].hex(' ')})")
    text = head.decode("utf-8", "replace")
    low = text.lower()
    if "<html" in low or "<!doctype html" in low:
        m = re.search(r"<title[^>]*>(.*?)</title", text, re.IGNORECASE | re.DOTALL)
        title = _clean(m.group(1))[:80] if m else ""
        msg = "not a feed: an HTML page" + (f" titled '{title}'" if title else "")
        hint = None
        if re.match(r"30[1278]\b|moved", title, re.IGNORECASE):
            href = re.search(r"href=[\"']([^\"']+)", text, re.IGNORECASE)
            where = f" ({href.group(1)})" if href else ""
            hint = f"the feed has moved; point this source's url at its new address{where}"
        else:
            hint = "check that the url points at the RSS or Atom feed, not at the web page"
        return SourceError(source, msg, hint)
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in "{[":
        return SourceError(source, "not a feed: JSON, not RSS or Atom")
    root = re.search(r"<([A-Za-z_][\w.:-]*)", re.sub(r"<[?!][^>]*>", "", text))
    if root:
        detail = f"; {problem}" if problem else ""
        return SourceError(source, f"not an RSS or Atom feed: an XML document with root <{root.group(1)}>{detail}")
    return SourceError(source, "not a feed: " + (problem or "no RSS or Atom markup found"))


def parse_feed(
    source_name: str,
    data: bytes,
    *,
    url: str | None = None,
    headers: Mapping[str, str] | None = None,
    truncated: bool = False,
) -> tuple[list[RawEntry], list[str]]:
    """Entries of an RSS/Atom document and warnings about it; raise SourceError if it is no feed.

    ``truncated`` says that ``data`` is only the first bytes of a longer document (the size
    cap): the last entry may be cut short, so it is dropped, and the parse error that the cut
    causes is reported as the cut.
    """
    if not data.strip():
        raise SourceError(source_name, "empty document: no feed to read")
    warnings: list[str] = []
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    screened = screen_doctype(data)
    if screened.warning:
        warnings.append(screened.warning)
    capped, cut = cap_author_fields(screened.data)
    if cut:
        warnings.append(f"{cut} author field{'s' if cut > 1 else ''} longer than {AUTHOR_TEXT_MAX} bytes cut short "
                        "(such fields make feedparser's e-mail regex run for seconds)")
        screened = replace(screened, data=capped)
    repaired = repair_charset(screened.data, hdrs.get("content-type"))
    if repaired.warning:
        warnings.append(repaired.warning)
        if repaired.content_type:
            hdrs["content-type"] = repaired.content_type
    if url and url.startswith(("http://", "https://")):
        hdrs.setdefault("content-location", url)
    # sanitize_html/resolve_relative_uris off: we never render feed HTML, the extract stage turns
    # it into plain text (dropping scripts and styles), and the sanitizer halves parsing speed.
    result = feedparser.parse(
        io.BytesIO(repaired.data), response_headers=hdrs, sanitize_html=False, resolve_relative_uris=False
    )
    problem = _describe_problem(result.get("bozo_exception")) if result.get("bozo") else None
    raw_entries = result.get("entries") or []
    if not result.get("version") and not raw_entries:
        error = _not_a_feed(source_name, data, problem)
        if truncated:
            error.hint = f"only the first {len(data)} bytes were read (max_bytes)"
        raise error
    entries = [_raw_entry(source_name, e) for e in raw_entries]
    if truncated:
        entries = entries[:-1]
        warnings.append(f"feed larger than the size cap: parsed its first {len(data)} bytes, kept "
                        f"{len(entries)} entries (the last, possibly cut, dropped); raise max_bytes for all")
        problem = None
    if problem:
        warnings.append(f"{problem}; kept {len(entries)} entries")
    if not result.get("version"):
        warnings.append(f"format not recognised as RSS or Atom; kept {len(entries)} entries")
    log.debug("parsed %s: %d entries, %d warnings", source_name, len(entries), len(warnings))
    return entries, warnings
