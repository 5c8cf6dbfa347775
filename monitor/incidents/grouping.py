"""Incidents stage: grouping classified items into incidents.

Two reports are one event when they share a primary place at the finest level both name, at least
one threat type, their event sentences reach the configured similarity, and their publication
times are at most ``window`` apart. An incident is a connected group under that relation (among
the live incidents: a closed one takes no more reports), so the same items in any order end in the
same incidents: a report that links two incidents merges them into the one reported first.
Candidates come from an index range on (country|threat, time), never a scan of the incidents.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.config import IncidentsConfig
from monitor.incidents.signature import CITY, REGION, Report, report_of, same_place, similarity
from monitor.incidents.summary import escalation, incident_id, is_breaking, summarise
from monitor.models import Classification, Item
from monitor.store import EventRow, GroupingSession, IncidentRow, Incidents, ReportRow

log = logging.getLogger(__name__)
SYSTEM = "grouping"


@dataclass
class GroupingCounts:
    grouped: int = 0
    created: int = 0
    joined: int = 0
    merged: int = 0
    escalated: int = 0


def same_event(a: Report, b: Report, config: IncidentsConfig) -> bool:
    return (abs(a.at - b.at) <= config.window and bool(set(a.threats) & set(b.threats)) and same_place(a, b)
            and _names_agree(a, b) and _days_agree(a, b) and similarity(a, b) >= config.similarity)


def _days_agree(a: Report, b: Report) -> bool:
    """Reports that both date their event to days of the month share one: the same kidnapping
    "on the 3rd" and "on the 15th" are two kidnappings, however alike the wording."""
    return not a.days or not b.days or bool(set(a.days) & set(b.days))


def _names_agree(a: Report, b: Report) -> bool:
    """Reports that each name two or more people or places share two of them: "Gunmen attack police
    post in Kayes, Mali" and "... in Sevare, Mali" share only the country, whatever else they share
    (a town the gazetteer does not know leaves its report placed by the country alone)."""
    mine = {k for k in a.features if k[0] == "@"}
    theirs = {k for k in b.features if k[0] == "@"}
    return len(mine) < 2 or len(theirs) < 2 or len(mine & theirs) >= 2


def stored(row: ReportRow) -> Report:
    return Report.from_json(row.item_id, row.source, row.at, row.data)


class Grouper:
    """Files classified items into incidents, each call in one serialised transaction."""

    def __init__(self, incidents: Incidents, config: IncidentsConfig,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.incidents = incidents
        self.config = config
        self.clock = clock

    def group(self, classified: Sequence[tuple[Item, Classification]]) -> GroupingCounts:
        counts = GroupingCounts()
        if not self.config.enabled:
            return counts
        reports = sorted((r for item, cls in classified if (r := report_of(item, cls)) is not None),
                         key=lambda r: (r.at, r.item_id))
        if not reports:
            return counts
        with self.incidents.grouping() as session:
            done = session.grouped([r.item_id for r in reports])
            for report in reports:
                if report.item_id not in done:
                    self.file(session, report, counts)
                    done.add(report.item_id)
        return counts

    def file(self, session: GroupingSession, report: Report, counts: GroupingCounts) -> str:
        """File one report: into the incident(s) it matches (merging them), else a new one."""
        window = self.config.window
        matches = [c for c in session.candidates(report.keys(), report.at - window, report.at + window)
                   if same_event(report, stored(c), self.config)]
        counts.grouped += 1
        targets = sorted({c.incident_id for c in matches})
        row = ReportRow(report.item_id, "", report.source, report.at, report.to_json())
        if not targets:
            return self._start(session, report, row, counts)
        found = [i for i in (session.incident(t) for t in targets) if i is not None]
        places = {i.id: _finer_places(stored(r) for r in session.reports(i.id)) for i in found}
        mine = _finer_places([report])
        # A report may join an incident only where their cities and provinces agree, and may link two
        # incidents only where theirs do: "attack in Mali" must not chain an attack in Kayes and one
        # in Gao into one event because each resembles it.
        found = [i for i in found if _agree(mine, places[i.id])]
        if not found:
            return self._start(session, report, row, counts)
        survivor = min(found, key=lambda i: (i.first_seen, i.id))
        for other in found:
            if other.id != survivor.id and _agree(places[survivor.id], places[other.id]):
                self.absorb(session, survivor.id, other, SYSTEM)
                counts.merged += 1
        row.incident_id = survivor.id
        session.add_report(row, report.keys())
        counts.joined += 1
        if self.refresh(session, survivor, {"item": report.item_id, "source": report.source}):
            counts.escalated += 1
        return survivor.id

    def _start(self, session: GroupingSession, report: Report, row: ReportRow, counts: GroupingCounts) -> str:
        row.incident_id = incident_id(report.item_id)
        session.add_report(row, report.keys())
        summary = summarise([report], None, row.incident_id)
        summary.breaking = is_breaking([report], self.config)
        session.save(summary, new=True)
        self._record(session, summary.id, "created", {"item": report.item_id, "source": report.source})
        counts.created += 1
        return summary.id

    def absorb(self, session: GroupingSession, into: str, other: IncidentRow, actor: str) -> None:
        """Move ``other``'s reports into ``into``; ``other`` stays, as merged, for its history."""
        session.move_reports([r.item_id for r in session.reports(other.id)], into)
        other.state, other.merged_into = "merged", into
        other.changed_by, other.changed_at = actor, self.clock()
        session.save(other)
        self._record(session, other.id, "merge", {"into": into}, actor)
        self._record(session, into, "merge", {"from": other.id}, actor)

    def refresh(self, session: GroupingSession, before: IncidentRow, detail: dict[str, object]) -> bool:
        """Summarise ``before`` again over its reports; record an escalation (True) or a join."""
        reports = [stored(r) for r in session.reports(before.id)]
        after = summarise(reports, before, before.id)
        changed = escalation(before, after, self.config)
        if changed:
            after.revision += 1
            self._record(session, after.id, "escalated", {**detail, "changed": changed, "revision": after.revision})
        else:
            self._record(session, after.id, "joined", detail)
        if not after.breaking and is_breaking(reports, self.config):
            after.breaking = True
            self._record(session, after.id, "breaking", {"sources": after.source_count})
        session.save(after)
        return bool(changed)

    def _record(self, session: GroupingSession, incident: str, kind: str, detail: dict[str, object],
                actor: str = SYSTEM) -> None:
        session.record(EventRow(incident, self.clock(), kind, actor, dict(detail)))


def _finer_places(reports: Iterable[Report]) -> dict[str, set[str]]:
    """The cities and provinces a group of reports names."""
    out: dict[str, set[str]] = {CITY: set(), REGION: set()}
    for report in reports:
        for level in out:
            out[level].update(report.places.get(level, ()))
    return out


def _agree(a: dict[str, set[str]], b: dict[str, set[str]]) -> bool:
    """Whether two groups of reports can be about one place: at each level both name, one in common."""
    return all(not a[level] or not b[level] or a[level] & b[level] for level in (CITY, REGION))
