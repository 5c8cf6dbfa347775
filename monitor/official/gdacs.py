"""Official sources: GDACS disaster alerts (RSS with ``gdacs:`` and ``georss:`` elements).

An event (``gdacs:eventtype`` + ``gdacs:eventid``) is one story: each new episode
(``gdacs:episodeid``) is a new version of the same item, never a new item, so the entry's guid is
keyed on the event alone. When one poll lists several episodes of an event, the latest episode is
kept. ``gdacs:alertlevel`` Green/Orange/Red is level 1/3/4; ``gdacs:iso3`` the country. GDACS
rates hazards, not countries: the advisory's scope is "event" and it never moves a country's level.
"""

from __future__ import annotations

import httpx

from monitor.config import GdacsSource
from monitor.models import PollResult, RawEntry
from monitor.official import countries
from monitor.official.fetch import as_feed_source, parse_in_thread
from monitor.official.scale import GDACS_LEVELS, advisory
from monitor.sources.feeds import fetch_feed

EVENT_TYPES = {"EQ": "earthquake", "TC": "tropical cyclone", "FL": "flood", "VO": "volcano", "DR": "drought",
               "WF": "wildfire", "TS": "tsunami"}


def _episode(entry: RawEntry) -> int:
    try:
        return int(entry.extra.gdacs.episode_id or 0)
    except ValueError:
        return 0


def annotate(entries: list[RawEntry], issuer: str) -> list[RawEntry]:
    """Entries keyed by event, with ``extra.advisory``; the latest episode of each event."""
    latest: dict[str, RawEntry] = {}
    order: list[str] = []
    for entry in entries:
        event = entry.extra.gdacs
        kind = event.event_type.strip().upper()
        key = f"{kind}{event.event_id.strip()}" if kind and event.event_id.strip() else (
            entry.guid or entry.link or entry.title)
        update: dict[str, object] = {"guid": key}
        level = GDACS_LEVELS.get(event.alert_level.strip().lower())
        if level is not None:
            country = countries.from_iso3(event.iso3.strip()) if event.iso3.strip() else None
            if country is None and event.country:
                country = countries.from_name(event.country.split(",")[0])
            label = f"{event.alert_level.strip().title()} {EVENT_TYPES.get(kind, kind.lower())} alert"
            # A hazard concerns an area, not a whole country: parts is always true here.
            adv = advisory(issuer, country, level, True, label, "event")
            update["extra"] = entry.extra.model_copy(update={"advisory": adv})
        annotated = entry.model_copy(update=update)
        if key not in latest:
            order.append(key)
            latest[key] = annotated
        elif _episode(annotated) > _episode(latest[key]):
            latest[key] = annotated
    return [latest[k] for k in order]


async def fetch(source: GdacsSource, client: httpx.AsyncClient, *, etag: str | None,
                last_modified: str | None) -> PollResult:
    plain = as_feed_source(source)
    result = await fetch_feed(plain, client, etag=etag, last_modified=last_modified)
    entries = await parse_in_thread(plain, annotate, result.entries, source.name)
    return PollResult(entries, not_modified=result.not_modified, etag=result.etag,
                       last_modified=result.last_modified, warnings=result.warnings,
                       permanent_url=result.permanent_url, gone=result.gone)
