"""Digest stage: the entries as views for templates and payloads, grouped country -> threat -> entries.

Groups go highest severity first, in a stable order. Every article value in a view is cleaned
(monitor/digest/sanitize.py); times are shown in the digest's timezone. The traveller's digest
(monitor/digest/trip.py) shows the same entry views under its legs.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.config import AlertRule
from monitor.digest.sanitize import clean_text, one_line, safe_url
from monitor.digest.snippets import snippet, wrap
from monitor.models import Classification, Digest, DigestEntry, Item, Severity

log = logging.getLogger(__name__)

_SUBJECT_PAIRS = 3
_SUBJECT_MAX = 160

SEVERITY_COLORS = {
    "critical": "#8b0000",
    "high": "#c0392b",
    "medium": "#d68910",
    "low": "#2471a3",
    "none": "#7f8c8d",
}


@dataclass
class ThreatGroup:
    type: str
    label: str
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def severity(self) -> str:
        return max((e["severity"] for e in self.entries), key=lambda s: Severity(s).rank, default="none")


@dataclass
class CountryGroup:
    code: str | None
    name: str
    threats: list[ThreatGroup] = field(default_factory=list)

    @property
    def severity(self) -> str:
        return max((t.severity for t in self.threats), key=lambda s: Severity(s).rank, default="none")

    @property
    def count(self) -> int:
        return sum(len(t.entries) for t in self.threats)


def threat_label(threat: str) -> str:
    return threat.replace("_", " ")


@functools.lru_cache(maxsize=512)
def _country_name_lookup(code: str) -> str:
    import pycountry  # loads its tables on first use; most names come from the classification

    found = pycountry.countries.get(alpha_2=code.upper())
    return str(getattr(found, "common_name", None) or found.name) if found else code


def _country_name(code: str, cls: Classification) -> str:
    for hit in cls.regions:
        if hit.kind == "country" and hit.id == code:
            return hit.name
    return _country_name_lookup(code)


def _group_country(entry: DigestEntry) -> str | None:
    cls, matched = entry.classification, set(entry.matched_regions)
    for code in cls.countries:
        if code in matched or any(h.country == code and h.id in matched for h in cls.regions):
            return code
    return cls.countries[0] if cls.countries else None


def _group_threat(entry: DigestEntry) -> str:
    ranked = sorted(entry.classification.threats, key=lambda t: (-t.score, t.type))
    for hit in ranked:
        if hit.type in entry.matched_threats:
            return hit.type
    if entry.matched_threats:
        return sorted(entry.matched_threats)[0]
    return ranked[0].type if ranked else "other"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso_time(value: datetime | None) -> str | None:
    return _aware(value).astimezone(UTC).isoformat() if value else None


def local_time(value: datetime | None, tz: ZoneInfo) -> str | None:
    return _aware(value).astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if value else None


def digest_zone(digest: Digest, alert: AlertRule) -> ZoneInfo:
    # The timezone captured in the digest when it was built wins (a retry renders the same times);
    # a digest carrying the default UTC falls back to the alert's.
    name = digest.timezone if digest.timezone and digest.timezone != "UTC" else alert.timezone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("alert %s: unknown timezone %r, showing times in UTC", alert.name, name)
        return ZoneInfo("UTC")


def _why(entry: DigestEntry, alert: str) -> str:
    if entry.why:
        return clean_text(one_line(entry.why)).strip()
    parts = [f"alert '{alert}'"]
    if entry.matched_regions:
        parts.append("regions " + ", ".join(entry.matched_regions))
    if entry.matched_threats:
        parts.append("threats " + ", ".join(threat_label(t) for t in entry.matched_threats))
    if entry.matched_keywords:
        parts.append("words " + ", ".join(f"'{k}'" for k in entry.matched_keywords))
    return "Matched " + "; ".join(parts)


def _official_view(item: Item) -> dict[str, Any] | None:
    """Issuer, level badge and, for a level change, "old -> new" of an official item."""
    adv = item.extra.advisory
    if adv is None or adv.level is None:
        return None
    issuer = clean_text(adv.issuer or item.source)
    view: dict[str, Any] = {
        "issuer": issuer, "level": adv.level, "label": clean_text(adv.label), "parts": adv.parts,
        "badge": f"{issuer} level {adv.level}{' (parts)' if adv.parts else ''}", "change": None,
    }
    change = item.extra.advisory_change
    if change is not None:
        view["change"] = f"{change.change}: level {change.old} -> {change.new}"
        if change.old_label and change.label:
            view["change"] += f" ({clean_text(change.old_label)} -> {clean_text(change.label)})"
    return view


def _incident_view(entry: DigestEntry) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The incident an entry stands for, for templates and for the JSON payload (empty: none)."""
    note = entry.incident
    if note is None:
        return None, {}
    view = {"id": note.id, "is_update": note.update, "line": clean_text(one_line(note.line)),
            "sources": note.source_count, "source_names": [clean_text(s) for s in note.sources],
            "reports": len(note.items)}
    return view, {"incident_id": note.id, "update": note.update, "changed": note.changed,
                  "update_line": note.line, "reported_by": note.source_count, "sources": note.sources,
                  "revision": note.revision}


def entry_view(entry: DigestEntry, alert: str, tz: ZoneInfo) -> dict[str, Any]:
    item, cls = entry.item, entry.classification
    snip = snippet(entry)
    matched = set(entry.matched_regions)
    hits = sorted(cls.regions, key=lambda h: (h.role != "primary", h.id not in matched, -h.score, h.id))
    shown = [h for h in hits if h.role == "primary" or h.id in matched or (h.country in matched)]
    threats = sorted(cls.threats, key=lambda t: (t.type not in entry.matched_threats, -t.score, t.type))
    severity = cls.severity.value
    official = _official_view(item)
    incident, extra_payload = _incident_view(entry)
    if official is not None:
        extra_payload["advisory"] = {k: official[k] for k in ("issuer", "level", "label", "parts")}
        if item.extra.advisory_change is not None:
            extra_payload["advisory_change"] = item.extra.advisory_change.to_json()
    return {
        "id": item.id,
        "official": official,
        "incident": incident,
        "title": clean_text(one_line(item.title)).strip() or "(untitled)",
        "url": safe_url(item.url),
        "source": clean_text(item.source),
        "published": local_time(item.published, tz),
        "first_seen": local_time(item.first_seen, tz),
        "severity": severity,
        "severity_color": SEVERITY_COLORS.get(severity, SEVERITY_COLORS["none"]),
        "countries": [_country_name(c, cls) for c in cls.countries],
        "regions": list(dict.fromkeys(clean_text(h.name) for h in shown)),
        "threats": [threat_label(t.type) for t in threats],
        "snippet": snip.segments,
        "snippet_text": wrap(snip.marked()),
        "summary": snip.plain,
        "why": _why(entry, alert),
        # For user templates that want more; every string in them is still autoescaped.
        "item": item,
        "classification": cls,
        "_payload": {
            "id": item.id,
            "title": item.title,
            "url": safe_url(item.url),
            "source": item.source,
            "published": iso_time(item.published),
            "countries": list(cls.countries),
            "regions": [{"id": h.id, "name": h.name, "kind": h.kind, "country": h.country, "role": h.role}
                        for h in hits],
            "threats": [{"type": t.type, "score": t.score} for t in threats],
            "severity": severity,
            "summary": snip.plain,
            **extra_payload,
        },
    }


def group(digest: Digest, alert: AlertRule, tz: ZoneInfo) -> list[CountryGroup]:
    """The digest's entries as country groups of threat groups, most severe first, stable order."""
    def order(entry: DigestEntry) -> tuple[int, float, str]:
        when = _aware(entry.item.published or entry.item.first_seen)
        return (-entry.classification.severity.rank, -when.timestamp(), entry.item.id)

    countries: dict[str | None, CountryGroup] = {}
    for entry in sorted(digest.entries, key=order):
        code = _group_country(entry)
        country = countries.get(code)
        if country is None:
            name = _country_name(code, entry.classification) if code else "No country named"
            country = countries[code] = CountryGroup(code, name)
        kind = _group_threat(entry)
        threat = next((t for t in country.threats if t.type == kind), None)
        if threat is None:
            threat = ThreatGroup(kind, threat_label(kind))
            country.threats.append(threat)
        threat.entries.append(entry_view(entry, alert.name, tz))
    for country in countries.values():
        country.threats.sort(key=lambda t: (-Severity(t.severity).rank, -len(t.entries), t.type))
    return sorted(countries.values(), key=lambda c: (-Severity(c.severity).rank, -c.count, c.name))


def subject(alert: str, groups: list[CountryGroup], count: int) -> str:
    """``[alert] 3 new: terrorism in Azerbaijan, armed conflict in Armenia, ...``"""
    pairs = [f"{t.label} in {c.name}" if c.code else t.label for c in groups for t in c.threats]
    head = f"[{one_line(alert).strip()}] {count} new"
    if not pairs:
        return head
    text = f"{head}: {', '.join(pairs[:_SUBJECT_PAIRS])}"
    if len(pairs) > _SUBJECT_PAIRS:
        text += ", ..."
    if len(text) > _SUBJECT_MAX:
        text = text[: _SUBJECT_MAX - 4].rsplit(" ", 1)[0].rstrip(",") + " ..."
    return clean_text(one_line(text))
