"""Items, classifications and source state: the store's core (see the package docstring).

Each source poll is written in one transaction: new items, new versions of changed items, the
near-duplicates recorded against their originals, and the source's state.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, select, union_all, update
from sqlalchemy.exc import SQLAlchemyError

from monitor.models import Classification, GeoPoint, Item
from monitor.store import schema as t
from monitor.store.base import chunks as _chunks
from monitor.store.dedup import Candidate, Fingerprint
from monitor.store.dialects import make_engine
from monitor.store.levels import LevelWrite, write_levels
from monitor.store.translate import reason, store_error, translates_errors, translating
from monitor.support.redact import redact_url

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
    # Near-duplicate index keys of the new items: (item id, key).
    dedup_keys: list[tuple[str, int]] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC)


@translates_errors
class Store:
    """Items, classifications and source state. Every public method raises StoreError, never a
    SQLAlchemy error (monitor/store/translate.py)."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    # -- lifecycle -----------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Store:
        """Open the database and, unless ``migrate`` is False, bring its schema to the code's
        (under a lock; a database newer than the code is refused)."""
        # Imported here: Alembic is slow to import, and only opening a database needs it.
        from monitor.store.migrate import upgrade_untranslated

        try:
            engine = make_engine(url)
            try:
                if migrate:
                    upgrade_untranslated(engine, url)
                else:
                    with engine.connect():
                        pass  # reach the server now: a bad password is an error here, not later
            except BaseException:
                engine.dispose()
                raise
        except SQLAlchemyError as exc:
            raise store_error(exc, f"cannot open database {redact_url(url)}: {reason(exc)}",
                              hint="check the `database:` URL, that the server is up (PostgreSQL) or that its "
                                   "folder exists and is writable (SQLite)") from exc
        except OSError as exc:
            raise store_error(exc, f"cannot open database {redact_url(url)}: {exc}",
                              hint="check the `database:` URL and that its folder exists and is writable") from exc
        return cls(engine, url)

    def close(self) -> None:
        self.engine.dispose()

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(t.meta.c.value).where(t.meta.c.key == "schema_version")).scalar_one())

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction (committed at the block's end, rolled back on an error); what the
        block's statements raise leaves as StoreError too."""
        with translating(), self.engine.begin() as conn:
            yield conn

    # -- sources -------------------------------------------------------------------------------
    def source_state(self, name: str) -> SourceState:
        with self.engine.connect() as conn:
            row = conn.execute(select(t.source_state).where(t.source_state.c.name == name)).mappings().first()
        return SourceState(**dict(row)) if row else SourceState(name=name)

    def source_states(self, names: Sequence[str] | None = None) -> dict[str, SourceState]:
        """Every source's state, or only the named sources' (a daemon poll reads one row)."""
        query = select(t.source_state)
        if names is not None:
            query = query.where(t.source_state.c.name.in_(list(names)))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
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

    def dedup_candidates(self, since: datetime, *, with_first_seen: bool = False) -> Iterator[Any]:
        """Fingerprints of items first seen since ``since``, for the near-duplicate index (with
        ``with_first_seen``: (candidate, first seen) pairs)."""
        query = (select(t.items.c.id, t.items.c.source, t.items.c.distinct_guid, t.items.c.fingerprint,
                        t.items.c.first_seen)
                 .where(and_(t.items.c.first_seen >= since, t.items.c.fingerprint.is_not(None))))
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                fp = Fingerprint.from_json(row.fingerprint)
                candidate = Candidate(row.id, row.source, bool(row.distinct_guid), fp)
                yield (candidate, row.first_seen) if with_first_seen else candidate

    def dedup_matches(self, keys: Sequence[int], since: datetime) -> list[tuple[int, Candidate]]:
        """(key, candidate) for the items first seen since ``since`` filed under any of ``keys``,
        oldest item first."""
        query = (select(t.dedup_keys.c.key, t.items.c.id, t.items.c.source, t.items.c.distinct_guid,
                        t.items.c.fingerprint)
                 .join(t.items, t.items.c.id == t.dedup_keys.c.item_id)
                 .where(and_(t.dedup_keys.c.key.in_(list(keys)), t.dedup_keys.c.first_seen >= since,
                             t.items.c.fingerprint.is_not(None)))
                 .order_by(t.items.c.seq))
        with self.engine.connect() as conn:
            return [(r.key, Candidate(r.id, r.source, bool(r.distinct_guid), Fingerprint.from_json(r.fingerprint)))
                    for r in conn.execute(query)]

    def dedup_keys_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.dedup_keys)).scalar_one())

    def add_dedup_keys(self, rows: Iterable[tuple[str, int, datetime]]) -> None:
        """File existing items in the near-duplicate index (a database from before it was stored)."""
        batch = [{"item_id": i, "key": k, "first_seen": f} for i, k, f in rows]
        with self.engine.begin() as conn:
            for chunk in _chunks(batch, 1000):
                conn.execute(insert(t.dedup_keys), chunk)

    def forget_dedup_keys(self, before: datetime) -> int:
        """Drop the index keys of items first seen before ``before`` (out of the dedup window)."""
        with self.engine.begin() as conn:
            done = conn.execute(delete(t.dedup_keys).where(t.dedup_keys.c.first_seen < before))
        return int(done.rowcount or 0)

    def write_poll(self, write: PollWrite) -> None:
        """One transaction for a whole poll: items, duplicates and the source's state."""
        with translating(f"could not write poll of source '{write.state.name}'"), self.engine.begin() as conn:
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
            if write.dedup_keys:
                seen = {e.item.id: e.item.first_seen for e in write.new}
                conn.execute(insert(t.dedup_keys), [{"key": key, "item_id": item_id, "first_seen": seen[item_id]}
                                                    for item_id, key in write.dedup_keys if item_id in seen])
            write.state.items_total += len(write.new)
            self._save_state(conn, write.state)

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
        waiting = _waiting(rules_version)
        query = select(t.items).where(t.items.c.seq.in_(select(waiting.c.seq))).order_by(t.items.c.seq)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_row_item(r) for r in conn.execute(query).mappings()]

    def count_unclassified(self, rules_version: str) -> int:
        """How many items ``unclassified`` would return."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(_waiting(rules_version))).scalar_one())

    def save_classifications(self, results: Iterable[tuple[Classification, Sequence[str]]], *,
                             only_pending: bool = False) -> int:
        """Store classifications; each comes with the region ids to index (ancestors included).
        ``only_pending``: skip items that already carry a classification by the same rules (another
        worker classified them since they were read)."""
        results = list(results)
        now = _now()
        count = 0
        with self.engine.begin() as conn:
            # Locks the counter row until commit (PostgreSQL; SQLite has one writer anyway): writers
            # take turns, so classification order is commit order and a dispatcher reading "after
            # its mark" never skips a row that commits late.
            seq = _counter(conn, "classification_seq", lock=True)
            pairs = [(c.item_id or "", c.rules_version) for c, _ in results]
            done = _classified(conn, pairs) if only_pending else set()
            for cls, region_ids in results:
                assert cls.item_id
                if (cls.item_id, cls.rules_version) in done:
                    continue
                self._forget_classification(conn, [cls.item_id])
                seq += 1
                conn.execute(insert(t.classifications).values(
                    item_id=cls.item_id, rules_version=cls.rules_version, severity=cls.severity.value,
                    countries=cls.countries, data=cls.model_dump(mode="json"), classified_at=now, seq=seq))
                conn.execute(update(t.items).where(t.items.c.id == cls.item_id)
                             .values(classified_version=cls.rules_version))
                if region_ids:
                    conn.execute(insert(t.item_regions), [
                        {"item_id": cls.item_id, "region_id": rid, "role": role}
                        for rid, role in _region_rows(cls, region_ids)])
                threats = sorted({th.type for th in cls.threats})
                if threats:
                    conn.execute(insert(t.item_threats), [{"item_id": cls.item_id, "threat": th} for th in threats])
                count += 1
            _set_counter(conn, "classification_seq", seq)
        return count

    def classification_mark(self) -> int:
        """The latest classification's place in classification order (0 when none has a place)."""
        with self.engine.connect() as conn:
            return _counter(conn, "classification_seq")

    def _forget_classification(self, conn: Connection, ids: Sequence[str]) -> None:
        conn.execute(delete(t.item_regions).where(t.item_regions.c.item_id.in_(ids)))
        conn.execute(delete(t.item_threats).where(t.item_threats.c.item_id.in_(ids)))
        conn.execute(delete(t.classifications).where(t.classifications.c.item_id.in_(ids)))
        conn.execute(update(t.items).where(t.items.c.id.in_(ids)).values(classified_version=None))

    def classifications(self, ids: Sequence[str]) -> dict[str, Classification]:
        found: dict[str, Classification] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(ids), 500):
                rows = conn.execute(select(t.classifications.c.item_id, t.classifications.c.data)
                                    .where(t.classifications.c.item_id.in_(chunk)))
                found.update({r.item_id: Classification.model_validate(r.data) for r in rows})
        return found


def _waiting(rules_version: str) -> Any:
    """The seqs of items not classified by ``rules_version``: three ranges of
    ix_items_classified_version rather than one `!=` (which no index serves, and an OR of them the
    planner may answer with a scan), so the cost follows the number waiting, not the number stored."""
    version = t.items.c.classified_version
    return union_all(*(select(t.items.c.seq).where(term) for term in (
        version.is_(None), version < rules_version, version > rules_version))).subquery()


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



def _counter(conn: Connection, key: str, *, lock: bool = False) -> int:
    query = select(t.meta.c.value).where(t.meta.c.key == key)
    value = conn.execute(query.with_for_update() if lock else query).scalar()
    return int(value) if value is not None else 0


def _classified(conn: Connection, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Those of the (item id, rules version) pairs that are the items' current classification."""
    found: set[tuple[str, str]] = set()
    for chunk in _chunks(list({i for i, _ in pairs}), 500):
        rows = conn.execute(select(t.items.c.id, t.items.c.classified_version).where(t.items.c.id.in_(chunk)))
        found.update((r.id, r.classified_version) for r in rows if r.classified_version is not None)
    return found & set(pairs)


def _set_counter(conn: Connection, key: str, value: int) -> None:
    done = conn.execute(update(t.meta).where(t.meta.c.key == key).values(value=str(value)))
    if done.rowcount == 0:
        conn.execute(insert(t.meta).values(key=key, value=str(value)))
