"""Official advisory levels: each issuer's current level per country and its history.

monitor/official/changes.py decides what changed; this module only reads and writes it. A poll's level
updates are written in the poll's own transaction (PollWrite.levels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, and_, func, insert, select, update

from monitor.store import schema as t
from monitor.store.base import HasEngine
from monitor.store.base import aware as _aware
from monitor.store.translate import translates_errors, translating


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
    """Apply a LevelWrite inside the caller's transaction. Not translated here: the caller's edge
    (Store.write_poll, Store.transaction) does, with its own message."""
    if levels.insert:
        conn.execute(insert(t.advisory_levels), [dict(r.__dict__) for r in levels.insert])
    for row in levels.update:
        values = {k: v for k, v in row.__dict__.items() if k not in ("issuer", "country")}
        conn.execute(update(t.advisory_levels)
                     .where(and_(t.advisory_levels.c.issuer == row.issuer, t.advisory_levels.c.country == row.country))
                     .values(**values))
    if levels.history:
        conn.execute(insert(t.advisory_history), [dict(r.__dict__) for r in levels.history])


@translates_errors
class AdvisoryLevels:
    """Reads of the official level tables, over the same engine as the store they come with
    (errors: StoreError)."""

    def __init__(self, store: HasEngine) -> None:
        self.engine = store.engine

    def current(self, issuer: str | None = None, country: str | None = None) -> list[LevelRow]:
        query = select(t.advisory_levels)
        if issuer is not None:
            query = query.where(t.advisory_levels.c.issuer == issuer)
        if country is not None:
            query = query.where(t.advisory_levels.c.country == country.upper())
        query = query.order_by(t.advisory_levels.c.country, t.advisory_levels.c.issuer)
        with translating("could not read advisory levels"), self.engine.connect() as conn:
            return [LevelRow(**{k: (_aware(v) if k in ("since", "last_seen", "published") else v)
                                for k, v in r.items()}) for r in conn.execute(query).mappings()]

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

    def item_facts(self, sources: Sequence[str], since: datetime | None = None,
                   ids: Sequence[str] | None = None) -> dict[str, tuple[int, str | None]]:
        """item id -> (level, change kind or None) for the official items of ``sources`` dated at or
        after ``since`` (and among ``ids``, when given): what alert rules with ``advisory_change``
        or ``min_level`` test."""
        dated = func.coalesce(t.items.c.published, t.items.c.first_seen)
        query = select(t.items.c.id, t.items.c.extra).where(t.items.c.source.in_(list(sources)))
        if since is not None:
            query = query.where(dated >= since)
        chunks = [None] if ids is None else [list(ids[i:i + 500]) for i in range(0, len(ids), 500)]
        found: dict[str, tuple[int, str | None]] = {}
        with self.engine.connect() as conn:
            rows = [row for chunk in chunks for row in conn.execute(
                query if chunk is None else query.where(t.items.c.id.in_(chunk)))]
            for item_id, extra in rows:
                adv = (extra or {}).get("advisory")
                if not isinstance(adv, dict) or not isinstance(adv.get("level"), int):
                    continue
                change = (extra or {}).get("advisory_change")
                found[item_id] = (adv["level"], change.get("change") if isinstance(change, dict) else None)
        return found
