"""Incidents stage: an incident's summary made from its reports, and what changed between two
summaries (the timeline's escalations: severity raised, a higher death toll, a new place or threat
type), and whether its distinct sources grew fast enough to call it breaking."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from monitor.config import IncidentsConfig
from monitor.incidents.signature import CITY, REGION, Report
from monitor.models import Severity
from monitor.store import IncidentRow


def incident_id(founder: str) -> str:
    """An incident's id, from the item that started it."""
    return "i" + hashlib.sha256(founder.encode()).hexdigest()[:11]


def _informative(report: Report) -> tuple[int, int, float, str]:
    # The most informative report: highest severity, then a stated toll, then the richest event sentences.
    return (-Severity.parse(report.severity).rank, 0 if report.casualties is not None else 1,
            -sum(report.features.values()), report.item_id)


def summarise(reports: Sequence[Report], base: IncidentRow | None, new_id: str) -> IncidentRow:
    """The incident's summary over its reports (sorted by time); state and who changed it come from
    ``base`` (None: a new incident, open)."""
    ordered = sorted(reports, key=lambda r: (r.at, r.item_id))
    best = min(ordered, key=_informative)
    severity = max((Severity.parse(r.severity) for r in ordered), key=lambda s: s.rank)
    countries: dict[str, int] = {}
    for r in ordered:
        for c in r.countries:
            countries[c] = countries.get(c, 0) + 1
    figures = [r.casualties for r in ordered if r.casualties is not None]
    row = IncidentRow(
        id=new_id, state="open", title=best.title, title_item=best.item_id, severity=severity.value,
        countries=sorted(countries, key=lambda c: (-countries[c], c)),
        regions=sorted({p for r in ordered for level in (CITY, REGION) for p in r.places.get(level, ())}),
        threats=sorted({th for r in ordered for th in r.threats}), first_seen=ordered[0].at,
        last_seen=ordered[-1].at, source_count=len({r.source for r in ordered}),
        casualties=max(figures) if figures else None)
    if base is not None:
        for key in ("state", "breaking", "revision", "merged_into", "muted_until", "muted_alert", "muted_revision",
                    "acknowledged", "changed_by", "changed_at"):
            setattr(row, key, getattr(base, key))
    return row


def escalation(before: IncidentRow, after: IncidentRow, config: IncidentsConfig) -> dict[str, object]:
    """What grew from ``before`` to ``after`` enough to tell readers again (empty: nothing)."""
    changed: dict[str, object] = {}
    if Severity.parse(after.severity).rank > Severity.parse(before.severity).rank:
        changed["severity"] = [before.severity, after.severity]
    old, new = before.casualties or 0, after.casualties
    if new is not None and new - old >= max(config.casualties_step, config.casualties_ratio * old):
        changed["casualties"] = [before.casualties, new]
    places = sorted(set(after.countries + after.regions) - set(before.countries + before.regions))
    if places:
        changed["places"] = places
    threats = sorted(set(after.threats) - set(before.threats))
    if threats:
        changed["threats"] = threats
    return changed


def is_breaking(reports: Sequence[Report], config: IncidentsConfig) -> bool:
    """Whether ``breaking.sources`` distinct sources first reported it within ``breaking.within``."""
    firsts: dict[str, datetime] = {}
    for r in reports:
        if r.source not in firsts or r.at < firsts[r.source]:
            firsts[r.source] = r.at
    times = sorted(firsts.values())
    need = config.breaking.sources
    return any(times[i + need - 1] - times[i] <= config.breaking.within for i in range(len(times) - need + 1))


def update_line(changed: dict[str, object]) -> str:
    """What an escalation changed, in a few words (digests and `incidents show`)."""
    parts: list[str] = []
    if "casualties" in changed:
        parts.append(f"death toll rises to {_pair(changed['casualties'])[1]}")
    if "severity" in changed:
        parts.append(f"severity raised to {_pair(changed['severity'])[1]}")
    for key, label in (("places", "now also in"), ("threats", "now also")):
        if key in changed:
            values = changed[key]
            parts.append(f"{label} {', '.join(str(v) for v in values) if isinstance(values, list) else values}")
    return "; ".join(parts)


def _pair(value: object) -> list[object]:
    return list(value) if isinstance(value, (list, tuple)) else [None, value]
