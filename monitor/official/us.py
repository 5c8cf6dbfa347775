"""Official sources: US State Department travel advisories (RSS, with the JSON API as fallback).

The RSS feed gives each advisory's level in ``<category domain="Threat-Level">`` and the
country in ``<category domain="Country-Tag">`` as a FIPS 10-4 code (CH = China, SG = Senegal,
UK = United Kingdom). The tag is not always right (the 2021 feed tags Switzerland ``SR``, which is
Suriname's code, and Guinea-Bissau with its ISO code ``GW``), so the country named in the title
("Senegal - Level 3: Reconsider Travel") wins when it is a known name; the FIPS tag decides when
the title names none ("Mainland China, Hong Kong & Macau - See Summaries"), then an ISO reading of
the tag, then the Department's own pseudo-codes (A1, A2, A3). The JSON API
(``cadataapi.state.gov``: ``Title``, ``Category`` [FIPS], ``Summary``, ``Published``, ``Link``,
``id``) is read the same way.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import httpx

from monitor.config import UsStateDeptSource
from monitor.errors import SourceError
from monitor.models import ItemExtra, OfficialAdvisory, PollResult, RawEntry
from monitor.official import countries
from monitor.official.fetch import Document, as_feed_source, fetch_document, load_json, parse_in_thread
from monitor.official.scale import advisory, us_level
from monitor.sources.feeds import fetch_feed

log = logging.getLogger(__name__)

_PARTS = re.compile(r"some areas have (?:an )?increased risk|\bdo not travel to\b", re.IGNORECASE)
_RECONSIDER = re.compile(r"\breconsider travel to\b", re.IGNORECASE)
_SPLIT = re.compile(r"\s+-\s+(?=Level\s*\d|See Summar|Caution|Travel Advisory)", re.IGNORECASE)


def title_country(title: str) -> str:
    """The place an advisory title names: "Kenya " of "Kenya  - Level 3: Reconsider Travel"."""
    head = _SPLIT.split(title, maxsplit=1)[0]
    return re.sub(r"\s+Travel Advisory$", "", head.strip(), flags=re.IGNORECASE).strip()


def resolve_country(name: str, tag: str | None) -> tuple[str | None, tuple[str, ...]]:
    """(ISO alpha-2, further codes) for an advisory's title name and its FIPS tag."""
    tag = (tag or "").strip().upper()
    by_name = countries.from_name(name) if name else None
    by_fips = countries.from_fips(tag) if tag else None
    if by_name:
        if by_fips and by_fips != by_name:
            log.debug("US advisory %r: FIPS tag %s (%s) disagrees with the title; the title wins",
                      name, tag, by_fips)
        return by_name, ()
    if by_fips:
        return by_fips, ()
    if tag in countries.US_PSEUDO_CODES:
        first, *rest = countries.US_PSEUDO_CODES[tag]
        return first, tuple(rest)
    if len(tag) == 2 and countries.is_iso2(tag):
        return tag, ()
    return None, ()


def advisory_of(issuer: str, title: str, level_text: str, tag: str | None, body: str) -> OfficialAdvisory | None:
    """The structured advisory of one US item, or None (e.g. "Worldwide Caution")."""
    level = us_level(level_text) or us_level(title)
    if level is None:
        return None
    country, also = resolve_country(title_country(title), tag)
    if country is None:
        log.debug("US advisory %r: no country for tag %r", title, tag)
        return None
    parts = False
    if level < 4:
        parts = bool(_PARTS.search(body)) or (level == 2 and bool(_RECONSIDER.search(body)))
    label = level_text.strip() or title.split(" - ", 1)[-1].strip()
    return advisory(issuer, country, level, parts, label, "country", also)


def annotate(entries: list[RawEntry], issuer: str) -> list[RawEntry]:
    """RSS entries with ``extra.advisory`` set where the entry states a level."""
    out = []
    for entry in entries:
        domains = entry.category_domains
        adv = advisory_of(issuer, entry.title, domains.get("Threat-Level", ""), domains.get("Country-Tag"),
                          entry.body)
        out.append(entry if adv is None else
                   entry.model_copy(update={"extra": entry.extra.model_copy(update={"advisory": adv})}))
    return out


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    # The API's times carry no zone; they are US Eastern evenings, close enough as UTC for a date.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_api(issuer: str, data: Any) -> list[RawEntry]:
    """Entries of the JSON API's answer: a list of {Title, Category, Summary, Published, Link, id}."""
    if not isinstance(data, list):
        raise SourceError(issuer, "the advisories API answered with something other than a list")
    entries = []
    for row in data:
        if not isinstance(row, dict) or not isinstance(row.get("Title"), str):
            continue
        title = " ".join(row["Title"].split())
        category, summary, raw_link = row.get("Category"), row.get("Summary"), row.get("Link")
        tags = category if isinstance(category, list) else []
        tag = next((t for t in tags if isinstance(t, str) and t.strip()), None)
        body = summary if isinstance(summary, str) else ""
        link = raw_link if isinstance(raw_link, str) else None
        level_text = title.split(" - ", 1)[1] if " - " in title else ""
        adv = advisory_of(issuer, title, level_text, tag, body)
        entries.append(RawEntry(
            source=issuer, guid=link or (str(row["id"]) if row.get("id") else None), link=link, title=title,
            body=body, body_is_html=True, published=_date(row.get("Published")),
            updated=_date(row.get("Updated")), category_domains={"Country-Tag": tag} if tag else {},
            categories=[level_text] if level_text else [], extra=ItemExtra(advisory=adv)))
    return entries


async def fetch(source: UsStateDeptSource, client: httpx.AsyncClient, *, etag: str | None,
                last_modified: str | None) -> PollResult:
    try:
        result = await fetch_feed(as_feed_source(source), client, etag=etag, last_modified=last_modified)
    except SourceError as exc:
        if not source.fallback_url:
            raise
        log.info("%s: the RSS feed failed (%s); trying the JSON API", source.name, exc.reason)
        try:
            return await _fetch_api(source, client)
        except SourceError as api_exc:
            raise SourceError(source.name, f"{exc.reason}; the JSON API fallback failed too: {api_exc.reason}",
                              exc.hint) from exc
    entries = await parse_in_thread(as_feed_source(source), annotate, result.entries, source.name)
    return PollResult(entries, not_modified=result.not_modified, etag=result.etag,
                       last_modified=result.last_modified, warnings=result.warnings,
                       permanent_url=result.permanent_url, gone=result.gone)


async def _fetch_api(source: UsStateDeptSource, client: httpx.AsyncClient) -> PollResult:
    api = as_feed_source(source, url=source.fallback_url, json=True)
    doc = await fetch_document(api, client, etag=None, last_modified=None)
    if not isinstance(doc, Document):
        return PollResult([], warnings=["the JSON API fallback answered without a body"])
    data = load_json(source.name, doc)
    entries = await parse_in_thread(api, parse_api, source.name, data)
    # No validators kept: the next poll asks the RSS feed again, unconditionally.
    return PollResult(entries, warnings=["read from the JSON API: the RSS feed failed"])
