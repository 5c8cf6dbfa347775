"""The outbox: alert matching input, digests, their item claims and deliveries (exactly once).

A digest and its claims are written in one transaction (claim_digest); deliveries are then
recorded one by one after each send (record_delivery).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from monitor.store import schema as t
from monitor.store.base import HasEngine
from monitor.store.base import aware as _aware
from monitor.store.base import chunks as _chunks
from monitor.store.dialects import serialize
from monitor.store.translate import translates_errors, translating

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FactRow:
    """A classified item as matching sees it: no text unless asked for."""

    id: str
    source: str
    severity: str
    published: datetime | None
    first_seen: datetime
    regions: frozenset[str]
    threats: frozenset[str]
    text: str = ""


@dataclass
class DeliveryRecord:
    digest_id: str
    target: str
    kind: str
    label: str
    status: str = "pending"
    attempts: int = 0
    next_attempt: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    # Set on a follow-up to the recipients a server refused for now; None for a configured target.
    recipients: list[str] | None = None


@dataclass
class DigestRecord:
    id: str
    alert: str
    created_at: datetime
    item_count: int
    carried: int
    subject: str
    rendered: dict[str, Any]
    deliveries: list[DeliveryRecord] = field(default_factory=list)
    item_ids: list[str] = field(default_factory=list)
    # (incident id, revision) pairs the digest tells the alert about (monitor/dispatch/incidents.py).
    incident_sends: list[tuple[str, int]] = field(default_factory=list)


@translates_errors
class Outbox:
    """The outbox queries, over the same engine as the store they come with (errors: StoreError)."""

    def __init__(self, store: HasEngine) -> None:
        self.engine = store.engine

    def classified_facts(self, since: datetime | None = None, *, with_text: bool = False,
                         after: int | None = None) -> list[FactRow]:
        """Every classified item dated (published, else first stored) at or after ``since``; with
        ``after``, only those classified after that point of classification order (an index range)."""
        dated = func.coalesce(t.items.c.published, t.items.c.first_seen)
        columns = [t.items.c.id, t.items.c.source, t.classifications.c.severity, t.items.c.published,
                   t.items.c.first_seen]
        if with_text:
            columns += [t.items.c.title, t.items.c.text]
        query = select(*columns).join(t.classifications, t.classifications.c.item_id == t.items.c.id)
        if since is not None:
            query = query.where(dated >= since)
        if after is not None:
            query = query.where(t.classifications.c.seq > after)
        regions: dict[str, set[str]] = {}
        threats: dict[str, set[str]] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(t.items.c.seq)).all()
            region_query = select(t.item_regions.c.item_id, t.item_regions.c.region_id)
            threat_query = select(t.item_threats.c.item_id, t.item_threats.c.threat)
            if after is not None:
                # A few new rows: look their regions and threats up by id.
                for chunk in _chunks([r.id for r in rows], 500):
                    for item_id, region in conn.execute(region_query.where(t.item_regions.c.item_id.in_(chunk))):
                        regions.setdefault(item_id, set()).add(region)
                    for item_id, threat in conn.execute(threat_query.where(t.item_threats.c.item_id.in_(chunk))):
                        threats.setdefault(item_id, set()).add(threat)
            else:
                if since is not None:
                    ids = select(t.items.c.id).where(dated >= since)
                    region_query = region_query.where(t.item_regions.c.item_id.in_(ids))
                    threat_query = threat_query.where(t.item_threats.c.item_id.in_(ids))
                for item_id, region in conn.execute(region_query):
                    regions.setdefault(item_id, set()).add(region)
                for item_id, threat in conn.execute(threat_query):
                    threats.setdefault(item_id, set()).add(threat)
        out = []
        for row in rows:
            text = f"{row.title}\n\n{row.text}" if with_text else ""
            out.append(FactRow(row.id, row.source, row.severity, _aware(row.published), _aware(row.first_seen),
                               frozenset(regions.get(row.id, ())), frozenset(threats.get(row.id, ())), text))
        return out

    def claimed(self, alert: str, ids: Sequence[str]) -> dict[str, str]:
        """item id -> digest id, for the given items this alert has already claimed."""
        found: dict[str, str] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(ids), 500):
                rows = conn.execute(select(t.digest_items.c.item_id, t.digest_items.c.digest_id)
                                    .where(and_(t.digest_items.c.alert == alert, t.digest_items.c.item_id.in_(chunk))))
                found.update({r.item_id: r.digest_id for r in rows})
        return found

    def last_digest_times(self, alerts: Sequence[str] | None = None) -> dict[str, datetime]:
        """alert -> when its latest digest was made (of the given alerts: one index probe each,
        where the whole table's GROUP BY would grow with every digest ever sent)."""
        rows: Sequence[Sequence[Any]]  # Rows of (alert, time) from the GROUP BY, or (alert, time) pairs
        with self.engine.connect() as conn:
            if alerts is None:
                rows = conn.execute(select(t.digests.c.alert, func.max(t.digests.c.created_at))
                                    .group_by(t.digests.c.alert)).all()
            else:
                rows = [(alert, conn.execute(select(func.max(t.digests.c.created_at))
                                             .where(t.digests.c.alert == alert)).scalar()) for alert in alerts]
        return {alert: _aware(when) for alert, when in rows if when is not None}

    def claim_digest(self, record: DigestRecord) -> bool:
        """Write a digest, its item claims and its pending deliveries in one transaction.

        False (and nothing written) when one of its items is already claimed for the alert.
        """
        with translating(f"could not write digest {record.id}"):
            try:
                with self.engine.begin() as conn:
                    # Workers claiming for one alert take turns, so a lost race is found by a read rather
                    # than a failed insert (which would abort the transaction mid-way).
                    serialize(conn, f"digest:{record.alert}")
                    taken = any(conn.execute(select(t.digest_items.c.item_id).where(
                        t.digest_items.c.alert == record.alert, t.digest_items.c.item_id.in_(chunk))).first()
                        for chunk in _chunks(list(record.item_ids), 500))
                    if taken or _told(conn, record):
                        log.info("digest %s of alert %s lost a race for its items; not written",
                                 record.id, record.alert)
                        return False
                    conn.execute(insert(t.digests).values(
                        id=record.id, alert=record.alert, created_at=record.created_at, item_count=record.item_count,
                        carried=record.carried, subject=record.subject, rendered=record.rendered))
                    conn.execute(insert(t.digest_items), [
                        {"digest_id": record.id, "alert": record.alert, "item_id": item_id, "position": i}
                        for i, item_id in enumerate(record.item_ids)])
                    conn.execute(insert(t.deliveries), [_delivery_row(d) for d in record.deliveries])
                    if record.incident_sends:
                        conn.execute(insert(t.incident_sends), [
                            {"alert": record.alert, "incident_id": i, "revision": r, "digest_id": record.id}
                            for i, r in record.incident_sends])
            except IntegrityError:
                log.warning("digest %s of alert %s lost a race for its items; not written", record.id, record.alert)
                return False
        return True

    def told(self, alert: str, incident_ids: Sequence[str]) -> dict[str, int]:
        """incident id -> the highest revision of it the alert was sent."""
        found: dict[str, int] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(incident_ids), 500):
                rows = conn.execute(select(t.incident_sends.c.incident_id, func.max(t.incident_sends.c.revision))
                                    .where(t.incident_sends.c.alert == alert, t.incident_sends.c.incident_id.in_(chunk))
                                    .group_by(t.incident_sends.c.incident_id))
                found.update({r[0]: int(r[1]) for r in rows})
        return found

    def due_deliveries(self, now: datetime | None) -> list[DeliveryRecord]:
        """Pending deliveries due at ``now`` (all pending ones when ``now`` is None), oldest digest first."""
        query = (select(t.deliveries).join(t.digests, t.digests.c.id == t.deliveries.c.digest_id)
                 .where(t.deliveries.c.status == "pending"))
        if now is not None:
            query = query.where(or_(t.deliveries.c.next_attempt.is_(None), t.deliveries.c.next_attempt <= now))
        query = query.order_by(t.digests.c.created_at, t.deliveries.c.digest_id, t.deliveries.c.target)
        with self.engine.connect() as conn:
            return [_delivery(r) for r in conn.execute(query).mappings()]

    def delivery_counts(self) -> dict[str, dict[str, int]]:
        """alert -> {delivery status -> count}."""
        query = (select(t.digests.c.alert, t.deliveries.c.status, func.count())
                 .join(t.deliveries, t.deliveries.c.digest_id == t.digests.c.id)
                 .group_by(t.digests.c.alert, t.deliveries.c.status))
        counts: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            for alert, status, count in conn.execute(query):
                counts.setdefault(alert, {})[status] = int(count)
        return counts

    def pending_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.deliveries)
                                    .where(t.deliveries.c.status == "pending")).scalar_one())

    def record_delivery(self, delivery: DeliveryRecord, follow_up: DeliveryRecord | None = None) -> None:
        """Record a send's result; with ``follow_up``, a new pending delivery of the same digest
        (recipients refused for now) in the same transaction, so none is lost or added twice."""
        values = {k: v for k, v in _delivery_row(delivery).items() if k not in ("digest_id", "target")}
        with translating(f"could not record delivery of {delivery.digest_id}"), self.engine.begin() as conn:
            conn.execute(update(t.deliveries).where(and_(t.deliveries.c.digest_id == delivery.digest_id,
                                                         t.deliveries.c.target == delivery.target))
                         .values(**values))
            # (A send repeated after a crash finds its follow-up there already.)
            if follow_up is not None and conn.execute(
                    select(t.deliveries.c.target).where(and_(
                        t.deliveries.c.digest_id == follow_up.digest_id,
                        t.deliveries.c.target == follow_up.target))).first() is None:
                conn.execute(insert(t.deliveries), [_delivery_row(follow_up)])

    def digest(self, digest_id: str) -> DigestRecord | None:
        """One digest with its deliveries and items; a unique prefix of the id will do."""
        with self.engine.connect() as conn:
            # The exact id first (a primary-key probe: every send looks its digest up); a prefix,
            # which a person may type, is a LIKE that scans the table.
            rows = conn.execute(select(t.digests).where(t.digests.c.id == digest_id)).mappings().all()
            if not rows:
                rows = conn.execute(select(t.digests).where(t.digests.c.id.startswith(digest_id, autoescape=True))
                                    .limit(2)).mappings().all()
            if len(rows) != 1:
                return None
            record = _digest(rows[0])
            self._fill(conn, [record])
        return record

    def list_digests(self, *, alert: str | None = None, limit: int | None = None) -> list[DigestRecord]:
        """Digests newest first, with their deliveries."""
        query = select(t.digests).order_by(t.digests.c.created_at.desc(), t.digests.c.id)
        if alert:
            query = query.where(t.digests.c.alert == alert)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            records = [_digest(r) for r in conn.execute(query).mappings()]
            self._fill(conn, records)
        return records

    def _fill(self, conn: Connection, records: list[DigestRecord]) -> None:
        by_id = {r.id: r for r in records}
        for chunk in _chunks(list(by_id), 500):
            for row in conn.execute(select(t.deliveries).where(t.deliveries.c.digest_id.in_(chunk))
                                    .order_by(t.deliveries.c.target)).mappings():
                by_id[row["digest_id"]].deliveries.append(_delivery(row))
            for link in conn.execute(select(t.digest_items.c.digest_id, t.digest_items.c.item_id)
                                     .where(t.digest_items.c.digest_id.in_(chunk))
                                     .order_by(t.digest_items.c.position)):
                by_id[link.digest_id].item_ids.append(link.item_id)

    def retry_digest(self, digest_id: str, now: datetime, *, due: Sequence[str] | None = None,
                     replaced: Mapping[str, str] | None = None, added: Sequence[DeliveryRecord] = ()) -> int:
        """Make the failed and waiting deliveries of a digest due now (with ``due``, those to these
        target keys); in the same transaction mark the ``replaced`` ones (target key -> by what) and
        write the ``added`` ones, the deliveries to the targets that replace them, due now. How many
        deliveries are due."""
        waiting = and_(t.deliveries.c.digest_id == digest_id, t.deliveries.c.status.in_(("pending", "failed")))
        with translating(f"could not retry digest {digest_id}"), self.engine.begin() as conn:
            query = update(t.deliveries).where(waiting)
            if due is not None:
                query = query.where(t.deliveries.c.target.in_(list(due)))
            count = int(conn.execute(query.values(status="pending", next_attempt=now, attempts=0)).rowcount or 0)
            for key, why in (replaced or {}).items():
                conn.execute(update(t.deliveries).where(and_(waiting, t.deliveries.c.target == key))
                             .values(status="replaced", next_attempt=None, last_error=why))
            for delivery in added:
                same = and_(t.deliveries.c.digest_id == digest_id, t.deliveries.c.target == delivery.target)
                row = conn.execute(select(t.deliveries.c.status).where(same)).first()
                if row is None:
                    conn.execute(insert(t.deliveries), [_delivery_row(delivery)])
                elif row.status == "replaced":  # its target is current again (a change undone)
                    conn.execute(update(t.deliveries).where(same).values(
                        status="pending", label=delivery.label, next_attempt=now, attempts=0, last_error=None))
                else:
                    continue  # it has a delivery already (sent, or waiting): never a second one
                count += 1
        return count


def _delivery_row(d: DeliveryRecord) -> dict[str, Any]:
    row = dict(d.__dict__)
    row["recipients"] = json.dumps(d.recipients) if d.recipients is not None else None
    return row


def _delivery(row: Any) -> DeliveryRecord:
    values = {k: row[k] for k in DeliveryRecord.__dataclass_fields__}
    values["recipients"] = json.loads(values["recipients"]) if values["recipients"] is not None else None
    return DeliveryRecord(**values)


def _digest(row: Any) -> DigestRecord:
    return DigestRecord(id=row["id"], alert=row["alert"], created_at=_aware(row["created_at"]),
                        item_count=row["item_count"], carried=row["carried"], subject=row["subject"],
                        rendered=row["rendered"])


def _told(conn: Connection, record: DigestRecord) -> bool:
    """Whether the alert was already sent one of the record's (incident, revision) pairs."""
    return any(conn.execute(select(t.incident_sends.c.revision).where(
        t.incident_sends.c.alert == record.alert, t.incident_sends.c.incident_id == incident,
        t.incident_sends.c.revision == revision)).first() for incident, revision in record.incident_sends)
