"""Official sources: UK FCDO foreign travel advice, from the GOV.UK content API (JSON).

The default url is the index (``/api/content/foreign-travel-advice``): its ``links.children``
name every country's content item, which is then fetched (``countries:`` narrows the list;
``concurrency`` bounds the requests; the source's ``timeout`` is the deadline for all of them).
A url pointing at one country's content item reads just that country.

Each content item gives ``details.alert_status`` (mapped in ``scale.fcdo_level``),
``details.change_description``, ``details.parts[]`` (Summary, Safety and security, Terrorism...)
and ``update_type`` (major/minor) where the API states it. Withdrawn advice is skipped.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import httpx

from monitor.config import FcdoSource
from monitor.errors import SourceError
from monitor.models import ItemExtra, PollResult, RawEntry
from monitor.official import countries
from monitor.official.fetch import Document, as_feed_source, fetch_document, load_json, parse_in_thread
from monitor.official.scale import advisory, fcdo_level

log = logging.getLogger(__name__)

SITE = "https://www.gov.uk"
# Sections whose text tells the classifier about threats; the rest is entry rules, health...
_THREAT_PARTS = ("summary", "warnings-and-insurance", "safety-and-security", "terrorism")
_MAX_BODY = 30_000


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def country_of(details: dict[str, Any], title: str = "") -> str | None:
    found = details.get("country")
    country = found if isinstance(found, dict) else {}
    for value in (country.get("name"), str(country.get("slug") or "").replace("-", " "),
                  title.removesuffix(" travel advice")):
        if isinstance(value, str) and value and (code := countries.from_name(value)):
            return code
    return None


def parse_item(issuer: str, doc: Any) -> RawEntry | None:
    """One country's content item as an entry; None when withdrawn or not a travel advice item."""
    if not isinstance(doc, dict) or not isinstance(doc.get("details"), dict):
        raise SourceError(issuer, "not a GOV.UK content item: no 'details'")
    if doc.get("withdrawn_notice") or doc.get("withdrawn") is True:
        return None
    details = doc["details"]
    title = str(doc.get("title") or "")
    code = country_of(details, title)
    if code is None:
        log.debug("%s: no country for %r", issuer, title)
        return None
    statuses = [s for s in details.get("alert_status") or [] if isinstance(s, str)]
    level, parts, label = fcdo_level(statuses)
    sections = [p for p in details.get("parts") or [] if isinstance(p, dict)]
    change = str(details.get("change_description") or "")
    body = f"<p>{label}.</p><p>{change}</p>" + "".join(
        f"<h2>{p.get('title', '')}</h2>{p.get('body', '')}" for p in sections if p.get("slug") in _THREAT_PARTS)
    base_path = doc.get("base_path")
    update_type = doc.get("update_type") or details.get("update_type")
    fields = {"alert_status": statuses, "change_description": change, "update_type": update_type,
              "parts": [str(p.get("title") or "") for p in sections]}
    # An update_type the API gives as other than a string stays as it came: typed or not, the same JSON.
    extra = ItemExtra.from_json({"advisory": advisory(issuer, code, level, parts, label).to_json(), "fcdo": fields})
    return RawEntry(
        source=issuer, guid=f"fcdo:{doc.get('content_id') or base_path or code}",
        link=SITE + base_path if isinstance(base_path, str) and base_path.startswith("/") else None,
        title=title or f"{countries.country_name(code)} travel advice", body=body[:_MAX_BODY], body_is_html=True,
        published=_date(doc.get("public_updated_at")), updated=_date(details.get("updated_at")),
        categories=[label], extra=extra)


def children(index: Any, wanted: list[str]) -> list[dict[str, Any]]:
    """The index's country items, narrowed to ``wanted`` (ISO codes or names) when given."""
    links = index.get("links") if isinstance(index, dict) else None
    kids = [c for c in (links or {}).get("children") or [] if isinstance(c, dict)]
    if not wanted:
        return kids
    codes = {w.upper() if len(w) == 2 else countries.from_name(w) for w in wanted}
    return [c for c in kids if country_of(c.get("details") or {}, str(c.get("title") or "")) in codes]


async def fetch(source: FcdoSource, client: httpx.AsyncClient, *, etag: str | None,
                last_modified: str | None) -> PollResult:
    plain = as_feed_source(source, json=True)
    doc = await fetch_document(plain, client, etag=etag, last_modified=last_modified)
    if not isinstance(doc, Document):
        return doc
    data = load_json(source.name, doc)
    if isinstance(data, dict) and data.get("document_type") != "travel_advice_index":
        entry = await parse_in_thread(plain, parse_item, source.name, data)
        return PollResult([entry] if entry else [], etag=doc.etag, last_modified=doc.last_modified,
                           permanent_url=doc.permanent_url)
    kids = children(data, source.countries)
    if not kids:
        raise SourceError(source.name, f"the travel advice index at {doc.url} lists no countries")
    base = httpx.URL(doc.url) if doc.url.startswith(("http://", "https://")) else None
    if base is None:
        raise SourceError(source.name, "a local index cannot lead to each country's advice",
                          "point url at one country's content item, or at the GOV.UK API")
    semaphore = asyncio.Semaphore(source.concurrency)
    warnings: list[str] = []

    async def one(kid: dict[str, Any]) -> RawEntry | None:
        path = kid.get("api_path") or kid.get("base_path")
        if not isinstance(path, str):
            return None
        if not path.startswith("/api/"):
            path = "/api/content" + path
        url = str(base.join(path))
        async with semaphore:
            try:
                got = await fetch_document(as_feed_source(source, url=url, json=True), client, etag=None,
                                           last_modified=None)
                if not isinstance(got, Document):
                    return None
                parsed: RawEntry | None = await parse_in_thread(plain, parse_item, source.name,
                                                                load_json(source.name, got))
                return parsed
            except SourceError as exc:
                warnings.append(f"{url}: {exc.reason}")
                return None

    found = await asyncio.gather(*(one(k) for k in kids))
    entries = [e for e in found if e is not None]
    if not entries and warnings:
        raise SourceError(source.name, f"no country's advice could be read; first problem: {warnings[0]}")
    return PollResult(entries, etag=doc.etag, last_modified=doc.last_modified, warnings=warnings,
                       permanent_url=doc.permanent_url)
