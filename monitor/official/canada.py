"""Official sources: Government of Canada travel advice and advisories (one JSON document).

``{"metadata": {...}, "data": {"AF": {"country-iso": "AF", "advisory-state": 0-3,
"has-regional-advisory": 0|1, "date-published": {"timestamp", "date", "asp"},
"eng": {"name", "url-slug", "advisory-text", "recent-updates"}}, ...}}``.
``advisory-state`` 0-3 is level 1-4; ``has-regional-advisory`` is ``parts``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from monitor.config import CanadaSource
from monitor.errors import SourceError
from monitor.models import ItemExtra, PollResult, RawEntry
from monitor.official import countries
from monitor.official.fetch import fetch_json_entries
from monitor.official.scale import CANADA_LABELS, advisory

PAGE = "https://travel.gc.ca/destinations/"


def _published(value: Any) -> datetime | None:
    if not isinstance(value, dict):
        return None
    stamp = value.get("timestamp")
    if isinstance(stamp, int | float) and stamp > 0:
        return datetime.fromtimestamp(stamp, UTC)
    for key in ("asp", "date"):
        text = value.get(key)
        if isinstance(text, str):
            try:
                parsed = datetime.fromisoformat(text.strip())
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def parse(issuer: str, data: Any) -> list[RawEntry]:
    rows = data.get("data") if isinstance(data, dict) else None
    if not isinstance(rows, dict):
        raise SourceError(issuer, "not the Canadian advisories document: no 'data' mapping of countries")
    entries = []
    for key, row in rows.items():
        if not isinstance(row, dict):
            continue
        code = str(row.get("country-iso") or key).strip().upper()
        state = row.get("advisory-state")
        if not countries.is_iso2(code) or not isinstance(state, int) or not 0 <= state <= 3:
            continue
        found = row.get("eng")
        eng = found if isinstance(found, dict) else {}
        level = state + 1
        label = str(eng.get("advisory-text") or CANADA_LABELS[level]).strip()
        name = str(eng.get("name") or row.get("country-eng") or countries.country_name(code))
        parts = bool(row.get("has-regional-advisory"))
        slug = eng.get("url-slug")
        link = PAGE + slug if isinstance(slug, str) and slug else None
        updates = str(eng.get("recent-updates") or "")
        body = f"<p>{label}{' (with regional advisories)' if parts else ''}.</p>{updates}"
        adv = advisory(issuer, code, level, parts, label)
        entries.append(RawEntry(
            source=issuer, guid=f"canada:{code}", link=link, title=f"{name} - {label}", body=body,
            body_is_html=True, published=_published(row.get("date-published")),
            categories=[label], extra=ItemExtra(advisory=adv)))
    return entries


async def fetch(source: CanadaSource, client: httpx.AsyncClient, *, etag: str | None,
                last_modified: str | None) -> PollResult:
    return await fetch_json_entries(source, client, etag=etag, last_modified=last_modified, parser=parse)
