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

from sqlalchemy import Connection, Engine, and_, delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

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

    def items_with_hash(self, hashes: Sequence[str]) -> dict[str, tuple[str, str, bool]]:
        """content hash -> (id, source, distinct_guid) of the first stored item with that content."""
        found: dict[str, tuple[str, str, bool]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(set(hashes)), 500):
                rows = conn.execute(select(t.items.c.content_hash, t.items.c.id, t.items.c.source,
                                           t.items.c.distinct_guid)
                                    .where(t.items.c.content_hash.in_(chunk)).order_by(t.items.c.seq))
                for r in rows:
                    found.setdefault(r.content_hash, (r.id, r.source, bool(r.distinct_guid)))
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
