"""Dispatch stage: digests speak in incidents. Alert matching runs on items; before a digest is
built, the matches that belong to one incident collapse into one entry: its best report when the
alert was never told about the incident, its newest report as an *update* when the incident
escalated since (its revision rose), and nothing when the alert already has this revision or the
incident is muted or closed. The entry claims all of the incident's matched items, and the digest
records (alert, incident, revision), so each incident and each of its updates reaches an alert
once (monitor/store/outbox.py ``incident_sends``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.alerts import Match
from monitor.incidents import update_line
from monitor.models import IncidentNote
from monitor.store import IncidentRow, Incidents, Outbox


@dataclass
class Collapsed:
    """The matches to show (one per item outside incidents, one per incident to tell), the
    incident note of each shown incident entry, and the items that tell nothing new."""

    matches: list[Match]
    notes: dict[str, IncidentNote] = field(default_factory=dict)
    quiet: list[str] = field(default_factory=list)


def silenced(incident: IncidentRow, alert: str, now: datetime) -> bool:
    """Closed, or muted for everyone or for this alert (until its end, if it has one; a mute
    "unless escalated" lets through the incident once it escalated after the mute)."""
    if incident.state == "closed":
        return True
    return (incident.state == "muted" and (incident.muted_until is None or incident.muted_until > now)
            and (incident.muted_alert is None or incident.muted_alert == alert)
            and (incident.muted_revision is None or incident.revision <= incident.muted_revision))


def collapse(alert: str, matches: list[Match], incidents: Incidents, outbox: Outbox, now: datetime) -> Collapsed:
    of = incidents.incident_of([m.item_id for m in matches])
    if not of:
        return Collapsed(matches)
    rows = incidents.rows(list(of.values()))
    told = outbox.told(alert, list(rows))
    result = Collapsed([m for m in matches if m.item_id not in of])
    grouped: dict[str, list[Match]] = {}
    for m in matches:
        if m.item_id in of:
            grouped.setdefault(of[m.item_id], []).append(m)
    for incident_id, members in sorted(grouped.items()):
        row = rows[incident_id]
        sent = told.get(incident_id)
        if silenced(row, alert, now) or (sent is not None and sent >= row.revision):
            result.quiet.extend(m.item_id for m in members)
            continue
        shown = _newest(members) if sent is not None else _best(members, row)
        result.matches.append(shown)
        result.notes[shown.item_id] = _note(incidents, row, sent, members)
    result.matches.sort(key=lambda m: (m.dated, m.item_id))
    return result


def _best(members: list[Match], row: IncidentRow) -> Match:
    return min(members, key=lambda m: (m.item_id != row.title_item, -m.severity, m.dated, m.item_id))


def _newest(members: list[Match]) -> Match:
    return max(members, key=lambda m: (m.dated, m.item_id))


def _note(incidents: Incidents, row: IncidentRow, sent: int | None, members: list[Match]) -> IncidentNote:
    changed: dict[str, Any] = {}
    if sent is not None:
        for event in incidents.events(row.id):
            revision = event.detail.get("revision")
            if event.kind == "escalated" and isinstance(revision, int) and revision > sent:
                for key, value in dict(event.detail.get("changed") or {}).items():
                    # Casualties and severity: the first old and the last new figure; places, threats: all.
                    if key in changed and key in ("casualties", "severity"):
                        changed[key] = [changed[key][0], value[1]]
                    elif key in changed:
                        changed[key] = sorted(set(changed[key]) | set(value))
                    else:
                        changed[key] = value
    sources = sorted({r.source for r in incidents.reports(row.id)})
    return IncidentNote(id=row.id, revision=row.revision, update=sent is not None, sources=sources,
                        source_count=len(sources), changed=changed, line=update_line(changed) if changed else "",
                        items=sorted(m.item_id for m in members))
