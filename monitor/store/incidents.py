"""Incidents in the store: which incident each grouped item belongs to, the incidents' summaries,
their lookup keys and timeline. monitor/incidents/ decides the grouping; this module only reads
and writes it.

Every change runs in a ``GroupingSession``: one transaction that first takes the ``incidents``
serialisation key (a PostgreSQL advisory lock; SQLite has one writer), so workers grouping at the
same time, and two shells muting one incident, take turns and each sees the other's result.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from monitor.store import schema as t
from monitor.store.base import HasEngine, chunks
from monitor.store.base import aware as _aware
from monitor.store.dialects import serialize
from monitor.store.translate import translates_errors, translating

GROUPING_KEY = "incidents"
LIVE_STATES = ("open", "muted")


@dataclass
class ReportRow:
    """One grouped item: its incident, source, time, and grouping signature (``data``)."""

    item_id: str
    incident_id: str
    source: str
    at: datetime
    data: dict[str, Any]


@dataclass
class IncidentRow:
    id: str
    state: str
    title: str
    title_item: str
    severity: str
    countries: list[str]
    regions: list[str]
    threats: list[str]
    first_seen: datetime
    last_seen: datetime
    source_count: int
    casualties: int | None = None
    breaking: bool = False
    revision: int = 0
    merged_into: str | None = None
    muted_until: datetime | None = None
    muted_alert: str | None = None
    muted_revision: int | None = None
    acknowledged: bool = False
    changed_by: str | None = None
    changed_at: datetime | None = None


@dataclass
class EventRow:
    incident_id: str
    at: datetime
    kind: str
    actor: str
    detail: dict[str, Any] = field(default_factory=dict)


_TIMES = ("first_seen", "last_seen", "muted_until", "changed_at")
_UPDATE_INCIDENT = update(t.incidents).where(t.incidents.c.id == bindparam("key"))


def _incident(row: Any) -> IncidentRow:
    values = dict(row)
    for key in _TIMES:
        values[key] = _aware(values[key])
    return IncidentRow(**values)


def _report(row: Any) -> ReportRow:
    return ReportRow(row.item_id, row.incident_id, row.source, _aware(row.at), row.data)


class GroupingSession:
    """Reads and writes of incidents inside one serialised transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def grouped(self, item_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in chunks(list(item_ids), 500):
            found.update(self.conn.execute(select(t.incident_reports.c.item_id)
                                           .where(t.incident_reports.c.item_id.in_(chunk))).scalars())
        return found

    def candidates(self, keys: Sequence[str], lo: datetime, hi: datetime) -> list[ReportRow]:
        """Reports of live (open or muted) incidents filed under any of ``keys`` between lo and hi."""
        ids = (select(t.incident_keys.c.item_id)
               .where(t.incident_keys.c.key.in_(list(keys)), t.incident_keys.c.at >= lo, t.incident_keys.c.at <= hi))
        query = (select(t.incident_reports).join(t.incidents, t.incidents.c.id == t.incident_reports.c.incident_id)
                 .where(t.incident_reports.c.item_id.in_(ids), t.incidents.c.state.in_(LIVE_STATES))
                 .order_by(t.incident_reports.c.item_id))
        return [_report(r) for r in self.conn.execute(query)]

    def reports(self, incident_id: str) -> list[ReportRow]:
        query = (select(t.incident_reports).where(t.incident_reports.c.incident_id == incident_id)
                 .order_by(t.incident_reports.c.at, t.incident_reports.c.item_id))
        return [_report(r) for r in self.conn.execute(query)]

    def incident(self, incident_id: str) -> IncidentRow | None:
        row = self.conn.execute(select(t.incidents).where(t.incidents.c.id == incident_id)).mappings().first()
        return None if row is None else _incident(row)

    def add_report(self, report: ReportRow, keys: Sequence[str]) -> None:
        # Values as parameters, never in the statement: one compiled statement serves every call.
        self.conn.execute(insert(t.incident_reports), dict(report.__dict__))
        if keys:
            self.conn.execute(insert(t.incident_keys),
                              [{"key": k, "at": report.at, "item_id": report.item_id} for k in keys])

    def move_reports(self, item_ids: Sequence[str], incident_id: str) -> None:
        for chunk in chunks(list(item_ids), 500):
            self.conn.execute(update(t.incident_reports).where(t.incident_reports.c.item_id.in_(chunk))
                              .values(incident_id=incident_id))

    def save(self, incident: IncidentRow, *, new: bool = False) -> None:
        values = dict(incident.__dict__)
        if not new:
            values["key"] = values["id"]
            done = self.conn.execute(_UPDATE_INCIDENT, values)
            if done.rowcount:
                return
            del values["key"]
        self.conn.execute(insert(t.incidents), values)

    def record(self, event: EventRow) -> None:
        self.conn.execute(insert(t.incident_events), dict(event.__dict__))

    def forget(self, item_ids: Sequence[str]) -> None:
        """Drop items from incidents (their incidents are summarised again by the caller)."""
        for chunk in chunks(list(item_ids), 500):
            self.conn.execute(delete(t.incident_keys).where(t.incident_keys.c.item_id.in_(chunk)))
            self.conn.execute(delete(t.incident_reports).where(t.incident_reports.c.item_id.in_(chunk)))


@translates_errors
class Incidents:
    """Incidents over the same engine as the store they come with (errors: StoreError)."""

    def __init__(self, store: HasEngine) -> None:
        self.engine = store.engine

    @contextmanager
    def grouping(self) -> Iterator[GroupingSession]:
        """A serialised transaction for grouping and for users' actions on incidents."""
        with translating("incidents"), self.engine.begin() as conn:
            serialize(conn, GROUPING_KEY)
            yield GroupingSession(conn)

    def listing(self, *, states: Sequence[str] | None = None, regions: Sequence[str] | None = None,
             since: datetime | None = None, limit: int | None = None) -> list[IncidentRow]:
        query = select(t.incidents).where(t.incidents.c.state.in_(list(states or (*LIVE_STATES, "closed"))))
        if since is not None:
            query = query.where(t.incidents.c.last_seen >= since)
        if regions:
            about = (select(t.incident_reports.c.incident_id)
                     .join(t.item_regions, t.item_regions.c.item_id == t.incident_reports.c.item_id)
                     .where(t.item_regions.c.region_id.in_(list(regions)), t.item_regions.c.role == "primary"))
            query = query.where(t.incidents.c.id.in_(about))
        query = query.order_by(t.incidents.c.last_seen.desc(), t.incidents.c.id)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_incident(r) for r in conn.execute(query).mappings()]

    def find(self, prefix: str) -> list[IncidentRow]:
        """Incidents whose id is ``prefix`` or starts with it."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.incidents).where(t.incidents.c.id.startswith(prefix, autoescape=True))
                                .order_by(t.incidents.c.id).limit(10)).mappings()
            return [_incident(r) for r in rows]

    def breaking_items(self, item_ids: Sequence[str]) -> set[str]:
        """Those of the items whose incident is breaking."""
        found: set[str] = set()
        query = (select(t.incident_reports.c.item_id)
                 .join(t.incidents, t.incidents.c.id == t.incident_reports.c.incident_id)
                 .where(t.incidents.c.breaking.is_(True)))
        with self.engine.connect() as conn:
            for chunk in chunks(list(item_ids), 500):
                found.update(conn.execute(query.where(t.incident_reports.c.item_id.in_(chunk))).scalars())
        return found

    def rows(self, incident_ids: Sequence[str]) -> dict[str, IncidentRow]:
        found: dict[str, IncidentRow] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(sorted(set(incident_ids)), 500):
                rows = conn.execute(select(t.incidents).where(t.incidents.c.id.in_(chunk))).mappings()
                found.update({r["id"]: _incident(r) for r in rows})
        return found

    def reports(self, incident_id: str) -> list[ReportRow]:
        with self.engine.connect() as conn:
            return GroupingSession(conn).reports(incident_id)

    def events(self, incident_id: str) -> list[EventRow]:
        query = (select(t.incident_events).where(t.incident_events.c.incident_id == incident_id)
                 .order_by(t.incident_events.c.seq))
        with self.engine.connect() as conn:
            return [EventRow(r.incident_id, _aware(r.at), r.kind, r.actor, r.detail) for r in conn.execute(query)]

    def incident_of(self, item_ids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(list(item_ids), 500):
                rows = conn.execute(select(t.incident_reports.c.item_id, t.incident_reports.c.incident_id)
                                    .where(t.incident_reports.c.item_id.in_(chunk)))
                found.update({r.item_id: r.incident_id for r in rows})
        return found
