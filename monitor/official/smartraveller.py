"""Official sources: Australia's Smartraveller advice levels (JSON).

The live export (``/destinations-export``) is a list of destinations: ``title``,
``field_overall_advice_level`` (the words of one of the four levels), ``field_advice_levels``
(stricter levels for regions, as text), ``field_last_update``, ``field_url``, ``changed``. The
shape of the community mirror (``{"advisories": [{"country": {"name", "alpha_2"}, "advisory",
"level", "page_url"}]}``) is read too. Levels 1-4 are the scale's 1-4; ``parts`` is set when the
regional advice names a level stricter than the overall one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx

from monitor.config import SmartravellerSource
from monitor.errors import SourceError
from monitor.models import ItemExtra, PollResult, RawEntry
from monitor.official import countries
from monitor.official.fetch import fetch_json_entries
from monitor.official.scale import SMARTRAVELLER_LABELS, advisory, smartraveller_level

SITE = "https://www.smartraveller.gov.au"
_LEVEL_WORDS = re.compile("|".join(re.escape(k) for k in SMARTRAVELLER_LABELS), re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")


def _changed(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    for fmt in ("%a, %Y-%m-%d %H:%M", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _stricter_parts(regional: str, level: int) -> bool:
    return any(SMARTRAVELLER_LABELS[m.group(0).lower()] > level for m in _LEVEL_WORDS.finditer(regional))


def _entry(issuer: str, name: str, code: str | None, level: int, label: str, regional: str, link: str | None,
           body: str, published: datetime | None) -> RawEntry | None:
    code = code if code and countries.is_iso2(code) else countries.from_name(name)
    if not code:
        return None
    plain_regional = _TAGS.sub(" ", regional)
    adv = advisory(issuer, code, level, _stricter_parts(plain_regional, level), label)
    if link and link.startswith("/"):
        link = SITE + link
    return RawEntry(source=issuer, guid=f"smartraveller:{code}", link=link, title=f"{name} - {label}",
                    body=body or f"<p>{label}.</p>", body_is_html=True, published=published,
                    categories=[label], extra=ItemExtra(advisory=adv))


def parse(issuer: str, data: Any) -> list[RawEntry]:
    rows: Any = data.get("advisories") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise SourceError(issuer, "not a Smartraveller advisories document: expected a list of destinations")
    entries = []
    for row in rows:
        if not isinstance(row, dict):
            continue
        if isinstance(row.get("country"), dict):  # the mirror's shape
            label = str(row.get("advisory") or "")
            level = row.get("level") if isinstance(row.get("level"), int) else smartraveller_level(label)
            country = row["country"]
            name, code = str(country.get("name") or ""), country.get("alpha_2")
            regional, link, body, published = "", row.get("page_url"), "", None
        else:
            label = str(row.get("field_overall_advice_level") or "")
            level = smartraveller_level(label)
            name, code = _TAGS.sub("", str(row.get("title") or "")).strip(), None
            regional = str(row.get("field_advice_levels") or "")
            link = row.get("field_url") if isinstance(row.get("field_url"), str) else None
            body = "".join(str(row.get(k) or "") for k in ("field_last_update", "field_advice_levels"))
            published = _changed(row.get("changed"))
        if not isinstance(level, int) or not 1 <= level <= 4 or not name:
            continue  # "No travel advice" and the like
        entry = _entry(issuer, name, code if isinstance(code, str) else None, level, label.strip(), regional,
                       link if isinstance(link, str) else None, body, published)
        if entry is not None:
            entries.append(entry)
    return entries


async def fetch(source: SmartravellerSource, client: httpx.AsyncClient, *, etag: str | None,
                last_modified: str | None) -> PollResult:
    return await fetch_json_entries(source, client, etag=etag, last_modified=last_modified, parser=parse)
