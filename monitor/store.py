"""Store stage: the only code that runs SQL. SQLite by default (WAL), PostgreSQL by URL.

Each source poll is written in one transaction: new items, new versions of changed items, the
near-duplicates recorded against their originals, and the source's state.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from monitor import schema as t
from monitor.dedup import Candidate, Fingerprint
from monitor.dialects import make_engine
from monitor.errors import StoreError
from monitor.models import Classification, GeoPoint, Item

log = logging.getLogger(__name__)


@dataclass
class SourceState:
    name: str
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    consecutive_failures: int = 0
    next_due: datetime | None = None
    last_error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    permanent_url: str | None = None
    gone: bool = False
    items_total: int = 0


@dataclass
class StoredEntry:
    """An item ready to be written, with its dedup fingerprint."""

    item: Item
    fingerprint: Fingerprint | None
    distinct_guid: bool


@dataclass
class DuplicateRecord:
    id: str
    original_id: str
    source: str
    url: str | None
    title: str
    similarity: float
    content_hash: str


@dataclass
class PollWrite:
    """Everything one poll of one source changes, written in one transaction."""

    state: SourceState
    new: list[StoredEntry] = field(default_factory=list)
    changed: list[StoredEntry] = field(default_factory=list)
    duplicates: list[DuplicateRecord] = field(default_factory=list)
    # Official sources: the poll's advisory level updates (see the advisory levels section).
    levels: LevelWrite | None = None


def _now() -> datetime:
    return datetime.now(UTC)


class Store:
    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    # -- lifecycle -----------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str) -> Store:
        try:
            engine = make_engine(url)
            store = cls(engine, url)
            store._ensure_schema()
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            raise StoreError(f"cannot open database {_redact(url)}: {reason}",
                             hint="check the `database:` URL and that its folder exists and is writable") from exc
        return store

    def close(self) -> None:
        self.engine.dispose()

    def _ensure_schema(self) -> None:
        with self.engine.begin() as conn:
            t.metadata.create_all(conn)
            version = conn.execute(select(t.meta.c.value).where(t.meta.c.key == "schema_version")).scalar()
            if version is None:
                conn.execute(insert(t.meta).values(key="schema_version", value=str(t.SCHEMA_VERSION)))
            elif int(version) > t.SCHEMA_VERSION:
                raise StoreError(f"database schema version {version} is newer than this program's "
                                 f"({t.SCHEMA_VERSION})", hint="upgrade advisory-monitor")

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(t.meta.c.value).where(t.meta.c.key == "schema_version")).scalar_one())

    def transaction(self) -> Any:
        return self.engine.begin()

    # -- sources -------------------------------------------------------------------------------
    def source_state(self, name: str) -> SourceState:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.source_state).where(t.source_state.c.name == name)).mappings().first()
        return SourceState(**dict(row)) if row else SourceState(name=name)

    def source_states(self) -> dict[str, SourceState]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.source_state)).mappings().all()
        return {r["name"]: SourceState(**dict(r)) for r in rows}

    def save_source_state(self, state: SourceState, conn: Connection | None = None) -> None:
        if conn is None:
            with self.engine.begin() as own:
                self._save_state(own, state)
        else:
            self._save_state(conn, state)

    def _save_state(self, conn: Connection, state: SourceState) -> None:
        values = dict(state.__dict__)
        done = conn.execute(update(t.source_state).where(t.source_state.c.name == state.name).values(**values))
        if done.rowcount == 0:
            conn.execute(insert(t.source_state).values(**values))

    # -- items ---------------------------------------------------------------------------------
    def known_hashes(self, ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """content hash and version of the given item ids that are stored already."""
        found: dict[str, tuple[str, int]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(ids), 500):
                rows = conn.execute(select(t.items.c.id, t.items.c.content_hash, t.items.c.version)
                                    .where(t.items.c.id.in_(chunk)))
                found.update({r.id: (r.content_hash, r.version) for r in rows})
        return found

    def known_duplicates(self, ids: Sequence[str]) -> dict[str, str]:
        """duplicate entry id -> content hash, for entries recorded as copies already."""
        found: dict[str, str] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(ids), 500):
                rows = conn.execute(select(t.duplicates.c.id, t.duplicates.c.content_hash)
                                    .where(t.duplicates.c.id.in_(chunk)))
                found.update({r.id: r.content_hash for r in rows})
        return found

    def items_with_hash(self, hashes: Sequence[str]) -> dict[str, list[Candidate]]:
        """content hash -> the stored items with exactly that content, oldest first."""
        found: dict[str, list[Candidate]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(set(hashes)), 500):
                rows = conn.execute(select(t.items.c.content_hash, t.items.c.id, t.items.c.source,
                                           t.items.c.distinct_guid, t.items.c.fingerprint)
                                    .where(t.items.c.content_hash.in_(chunk)).order_by(t.items.c.seq))
                for r in rows:
                    fp = Fingerprint.from_json(r.fingerprint) if r.fingerprint else None
                    found.setdefault(r.content_hash, []).append(
                        Candidate(r.id, r.source, bool(r.distinct_guid), fp))  # type: ignore[arg-type]
        return found

    def dedup_candidates(self, since: datetime) -> Iterator[Candidate]:
        """Fingerprints of items first seen since ``since``, for the near-duplicate index."""
        query = (select(t.items.c.id, t.items.c.source, t.items.c.distinct_guid, t.items.c.fingerprint)
                 .where(and_(t.items.c.first_seen >= since, t.items.c.fingerprint.is_not(None))))
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                yield Candidate(row.id, row.source, bool(row.distinct_guid), Fingerprint.from_json(row.fingerprint))

    def write_poll(self, write: PollWrite) -> None:
        """One transaction for a whole poll: items, duplicates and the source's state."""
        try:
            with self.engine.begin() as conn:
                if write.new:
                    conn.execute(insert(t.items), [_item_row(e) for e in write.new])
                for entry in write.changed:
                    row = _item_row(entry)
                    row.pop("first_seen")
                    conn.execute(update(t.items).where(t.items.c.id == entry.item.id).values(**row))
                    # A new version is classified afresh.
                    self._forget_classification(conn, [entry.item.id])
                if write.duplicates:
                    known = set(self.known_duplicates([d.id for d in write.duplicates]))
                    fresh = [d for d in write.duplicates if d.id not in known]
                    if fresh:
                        conn.execute(insert(t.duplicates), [_dup_row(d) for d in fresh])
                if write.levels is not None:
                    write_levels(conn, write.levels)
                write.state.items_total += len(write.new)
                self._save_state(conn, write.state)
        except SQLAlchemyError as exc:
            raise StoreError(f"could not write poll of source '{write.state.name}': {exc}") from exc

    def list_items(self, *, source: str | None = None, since: datetime | None = None,
                   region: Sequence[str] | None = None, threat: Sequence[str] | None = None,
                   ids: Sequence[str] | None = None, limit: int | None = None,
                   newest_first: bool = False) -> list[Item]:
        query = select(t.items)
        if source:
            query = query.where(t.items.c.source == source)
        if since:
            query = query.where(func.coalesce(t.items.c.published, t.items.c.first_seen) >= since)
        if region:
            query = query.where(t.items.c.id.in_(select(t.item_regions.c.item_id)
                                                 .where(t.item_regions.c.region_id.in_(list(region)))))
        if threat:
            query = query.where(t.items.c.id.in_(select(t.item_threats.c.item_id)
                                                 .where(t.item_threats.c.threat.in_(list(threat)))))
        if ids is not None:
            query = query.where(t.items.c.id.in_(list(ids)))
        query = query.order_by(t.items.c.seq.desc() if newest_first else t.items.c.seq)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_row_item(r) for r in conn.execute(query).mappings()]

    def duplicates_of(self, item_id: str) -> list[DuplicateRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.duplicates).where(t.duplicates.c.original_id == item_id)).mappings()
            return [DuplicateRecord(**{k: v for k, v in r.items() if k != "seen_at"}) for r in rows]

    def count_items(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.items)).scalar_one())

    # -- classifications -----------------------------------------------------------------------
    def unclassified(self, rules_version: str, limit: int | None = None) -> list[Item]:
        """Items with no classification, or one made by other rules."""
        current = select(t.classifications.c.item_id).where(t.classifications.c.rules_version == rules_version)
        query = select(t.items).where(t.items.c.id.not_in(current)).order_by(t.items.c.seq)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_row_item(r) for r in conn.execute(query).mappings()]

    def save_classifications(self, results: Iterable[tuple[Classification, Sequence[str]]]) -> int:
        """Store classifications; each comes with the region ids to index (ancestors included)."""
        now = _now()
        count = 0
        with self.engine.begin() as conn:
            for cls, region_ids in results:
                assert cls.item_id
                self._forget_classification(conn, [cls.item_id])
                conn.execute(insert(t.classifications).values(
                    item_id=cls.item_id, rules_version=cls.rules_version, severity=cls.severity.value,
                    countries=cls.countries, data=cls.model_dump(mode="json"), classified_at=now))
                if region_ids:
                    conn.execute(insert(t.item_regions), [
                        {"item_id": cls.item_id, "region_id": rid, "role": role}
                        for rid, role in _region_rows(cls, region_ids)])
                threats = sorted({th.type for th in cls.threats})
                if threats:
                    conn.execute(insert(t.item_threats), [{"item_id": cls.item_id, "threat": th} for th in threats])
                count += 1
        return count

    def _forget_classification(self, conn: Connection, ids: Sequence[str]) -> None:
        conn.execute(delete(t.item_regions).where(t.item_regions.c.item_id.in_(ids)))
        conn.execute(delete(t.item_threats).where(t.item_threats.c.item_id.in_(ids)))
        conn.execute(delete(t.classifications).where(t.classifications.c.item_id.in_(ids)))

    def classifications(self, ids: Sequence[str]) -> dict[str, Classification]:
        found: dict[str, Classification] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(ids), 500):
                rows = conn.execute(select(t.classifications.c.item_id, t.classifications.c.data)
                                    .where(t.classifications.c.item_id.in_(chunk)))
                found.update({r.item_id: Classification.model_validate(r.data) for r in rows})
        return found


def _region_rows(cls: Classification, region_ids: Sequence[str]) -> list[tuple[str, str]]:
    roles = {r.id: r.role for r in cls.regions}
    return [(rid, roles.get(rid, "primary")) for rid in dict.fromkeys(region_ids)]


def _item_row(entry: StoredEntry) -> dict[str, Any]:
    item = entry.item
    row = item.model_dump(mode="python", exclude={"points"})
    row["points"] = [p.model_dump() for p in item.points]
    row["fingerprint"] = entry.fingerprint.to_json() if entry.fingerprint else None
    row["distinct_guid"] = entry.distinct_guid
    return row


def _row_item(row: Any) -> Item:
    data = {k: row[k] for k in Item.model_fields if k in row}
    data["points"] = [GeoPoint(**p) for p in row["points"] or []]
    return Item(**data)


def _dup_row(d: DuplicateRecord) -> dict[str, Any]:
    return {**d.__dict__, "seen_at": _now()}


def _chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _redact(url: str) -> str:
    """A database URL fit for logs: the password, if any, replaced."""
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


# =============================================================================================
# Outbox: alert matching input, digests, their item claims and deliveries (exactly once).
# A digest and its claims are written in one transaction (claim_digest); deliveries are then
# recorded one by one after each send (record_delivery).

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


class Outbox:
    """The outbox queries, over the same engine as the store they come with."""

    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def classified_facts(self, since: datetime | None = None, *, with_text: bool = False) -> list[FactRow]:
        """Every classified item dated (published, else first stored) at or after ``since``."""
        dated = func.coalesce(t.items.c.published, t.items.c.first_seen)
        columns = [t.items.c.id, t.items.c.source, t.classifications.c.severity, t.items.c.published,
                   t.items.c.first_seen]
        if with_text:
            columns += [t.items.c.title, t.items.c.text]
        query = select(*columns).join(t.classifications, t.classifications.c.item_id == t.items.c.id)
        if since is not None:
            query = query.where(dated >= since)
        regions: dict[str, set[str]] = {}
        threats: dict[str, set[str]] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(t.items.c.seq)).all()
            ids = select(t.items.c.id).where(dated >= since) if since is not None else None
            region_query = select(t.item_regions.c.item_id, t.item_regions.c.region_id)
            threat_query = select(t.item_threats.c.item_id, t.item_threats.c.threat)
            if ids is not None:
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

    def last_digest_times(self) -> dict[str, datetime]:
        """alert -> when its latest digest was made."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.digests.c.alert, func.max(t.digests.c.created_at))
                                .group_by(t.digests.c.alert)).all()
        return {alert: _aware(when) for alert, when in rows if when is not None}

    def claim_digest(self, record: DigestRecord) -> bool:
        """Write a digest, its item claims and its pending deliveries in one transaction.

        False (and nothing written) when one of its items is already claimed for the alert.
        """
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(t.digests).values(
                    id=record.id, alert=record.alert, created_at=record.created_at, item_count=record.item_count,
                    carried=record.carried, subject=record.subject, rendered=record.rendered))
                conn.execute(insert(t.digest_items), [
                    {"digest_id": record.id, "alert": record.alert, "item_id": item_id, "position": i}
                    for i, item_id in enumerate(record.item_ids)])
                conn.execute(insert(t.deliveries), [_delivery_row(d) for d in record.deliveries])
        except IntegrityError:
            log.warning("digest %s of alert %s lost a race for its items; not written", record.id, record.alert)
            return False
        except SQLAlchemyError as exc:
            raise StoreError(f"could not write digest {record.id}: {exc}") from exc
        return True

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

    def record_delivery(self, delivery: DeliveryRecord) -> None:
        values = {k: v for k, v in _delivery_row(delivery).items() if k not in ("digest_id", "target")}
        try:
            with self.engine.begin() as conn:
                conn.execute(update(t.deliveries).where(and_(t.deliveries.c.digest_id == delivery.digest_id,
                                                             t.deliveries.c.target == delivery.target))
                             .values(**values))
        except SQLAlchemyError as exc:
            raise StoreError(f"could not record delivery of {delivery.digest_id}: {exc}") from exc

    def digest(self, digest_id: str) -> DigestRecord | None:
        """One digest with its deliveries and items; a unique prefix of the id will do."""
        with self.engine.connect() as conn:
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
            for row in conn.execute(select(t.digest_items.c.digest_id, t.digest_items.c.item_id)
                                    .where(t.digest_items.c.digest_id.in_(chunk))
                                    .order_by(t.digest_items.c.position)):
                by_id[row.digest_id].item_ids.append(row.item_id)

    def retry_digest(self, digest_id: str, now: datetime) -> int:
        """Make the failed and waiting deliveries of a digest due now; how many there were."""
        with self.engine.begin() as conn:
            done = conn.execute(update(t.deliveries)
                                .where(and_(t.deliveries.c.digest_id == digest_id, t.deliveries.c.status != "sent"))
                                .values(status="pending", next_attempt=now, attempts=0))
        return int(done.rowcount or 0)


def _aware(value: datetime | None) -> Any:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _delivery_row(d: DeliveryRecord) -> dict[str, Any]:
    return dict(d.__dict__)


def _delivery(row: Any) -> DeliveryRecord:
    return DeliveryRecord(**{k: row[k] for k in DeliveryRecord.__dataclass_fields__})


def _digest(row: Any) -> DigestRecord:
    return DigestRecord(id=row["id"], alert=row["alert"], created_at=_aware(row["created_at"]),
                        item_count=row["item_count"], carried=row["carried"], subject=row["subject"],
                        rendered=row["rendered"])


# =============================================================================================
# Official advisory levels: each issuer's current level per country and its history
# (monitor/advisories.py decides what changed; this section only reads and writes it). A poll's
# level updates are written in the poll's own transaction (PollWrite.levels).

@dataclass(frozen=True)
class LevelRow:
    """One issuer's current level for one country."""

    issuer: str
    country: str
    level: int
    parts: bool
    label: str
    since: datetime
    last_seen: datetime
    published: datetime | None = None
    item_id: str | None = None


@dataclass(frozen=True)
class LevelHistoryRow:
    issuer: str
    country: str
    observed_at: datetime
    change: str  # baseline | raised | lowered | parts
    old_level: int | None
    new_level: int
    old_parts: bool | None
    new_parts: bool
    label: str
    item_id: str | None = None


@dataclass
class LevelWrite:
    """What one poll changes in the level tables: rows to insert, rows to update, history."""

    insert: list[LevelRow] = field(default_factory=list)
    update: list[LevelRow] = field(default_factory=list)
    history: list[LevelHistoryRow] = field(default_factory=list)


def write_levels(conn: Connection, levels: LevelWrite) -> None:
    """Apply a LevelWrite inside the caller's transaction."""
    if levels.insert:
        conn.execute(insert(t.advisory_levels), [dict(r.__dict__) for r in levels.insert])
    for row in levels.update:
        values = {k: v for k, v in row.__dict__.items() if k not in ("issuer", "country")}
        conn.execute(update(t.advisory_levels)
                     .where(and_(t.advisory_levels.c.issuer == row.issuer, t.advisory_levels.c.country == row.country))
                     .values(**values))
    if levels.history:
        conn.execute(insert(t.advisory_history), [dict(r.__dict__) for r in levels.history])


class AdvisoryLevels:
    """Reads of the official level tables, over the same engine as the store they come with."""

    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def current(self, issuer: str | None = None, country: str | None = None) -> list[LevelRow]:
        query = select(t.advisory_levels)
        if issuer is not None:
            query = query.where(t.advisory_levels.c.issuer == issuer)
        if country is not None:
            query = query.where(t.advisory_levels.c.country == country.upper())
        query = query.order_by(t.advisory_levels.c.country, t.advisory_levels.c.issuer)
        try:
            with self.engine.connect() as conn:
                return [LevelRow(**{k: (_aware(v) if k in ("since", "last_seen", "published") else v)
                                    for k, v in r.items()}) for r in conn.execute(query).mappings()]
        except SQLAlchemyError as exc:
            raise StoreError(f"could not read advisory levels: {exc}") from exc

    def history(self, issuer: str | None = None, country: str | None = None,
                limit: int | None = None) -> list[LevelHistoryRow]:
        """Changes newest first (baselines included)."""
        query = select(t.advisory_history).order_by(t.advisory_history.c.seq.desc())
        if issuer is not None:
            query = query.where(t.advisory_history.c.issuer == issuer)
        if country is not None:
            query = query.where(t.advisory_history.c.country == country.upper())
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [LevelHistoryRow(**{k: (_aware(v) if k == "observed_at" else v) for k, v in r.items() if k != "seq"})
                    for r in conn.execute(query).mappings()]

    def item_facts(self, sources: Sequence[str], since: datetime | None = None) -> dict[str, tuple[int, str | None]]:
        """item id -> (level, change kind or None) for the official items of ``sources`` dated at or
        after ``since``: what alert rules with ``advisory_change`` or ``min_level`` test."""
        dated = func.coalesce(t.items.c.published, t.items.c.first_seen)
        query = select(t.items.c.id, t.items.c.extra).where(t.items.c.source.in_(list(sources)))
        if since is not None:
            query = query.where(dated >= since)
        found: dict[str, tuple[int, str | None]] = {}
        with self.engine.connect() as conn:
            for item_id, extra in conn.execute(query):
                adv = (extra or {}).get("advisory")
                if not isinstance(adv, dict) or not isinstance(adv.get("level"), int):
                    continue
                change = (extra or {}).get("advisory_change")
                found[item_id] = (adv["level"], change.get("change") if isinstance(change, dict) else None)
        return found
