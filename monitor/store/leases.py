"""Workers and leases: how several daemons on one PostgreSQL database divide the work.

A worker registers itself (host, pid, start time) and beats a heartbeat. Before polling a source
or sending a digest it claims a lease on it: one atomic ``UPDATE ... WHERE expires < now()`` (or an
INSERT that the primary key lets only one worker win), so exactly one worker holds it. The holder
renews its leases with each heartbeat and releases them when done; a worker that dies (kill -9,
cut off from the database) stops renewing, and its claims lapse ``lease`` later for the others to
take over. Every time is the database's clock, never a host's: skew between hosts cannot let two
workers hold one claim.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from monitor.store import schema as t
from monitor.store.core import Store
from monitor.store.dialects import db_now, db_time
from monitor.store.translate import translated, translates_errors

log = logging.getLogger(__name__)


class _NotDue(Exception):
    """Rolls a claim back when the source turns out to have been polled just now."""


@dataclass(frozen=True)
class WorkerRow:
    id: str
    host: str
    pid: int
    started_at: datetime
    heartbeat: datetime


@dataclass(frozen=True)
class LeaseRow:
    kind: str
    name: str
    owner: str
    expires: datetime
    taken_at: datetime


@translates_errors
class Leases:
    """One worker's view: its identity, its heartbeat, and its claims (errors: StoreError)."""

    def __init__(self, store: Store, lease: timedelta, *, host: str | None = None, pid: int | None = None) -> None:
        self.store = store
        self.lease = lease
        self.host = host or socket.gethostname()
        self.pid = pid if pid is not None else os.getpid()
        self.id = ""
        self.takeovers = 0  # claims taken from a worker whose lease had lapsed

    def register(self) -> str:
        """Record this worker; its id (host:pid:start time, by the database's clock)."""
        with self.store.engine.begin() as conn:
            started = db_time(conn)
            self.id = f"{self.host}:{self.pid}:{started:%Y%m%dT%H%M%S.%f}"
            conn.execute(insert(t.workers).values(id=self.id, host=self.host, pid=self.pid, started_at=started,
                                                  heartbeat=started))
        log.info("worker %s registered (lease %ss)", self.id, int(self.lease.total_seconds()))
        return self.id

    def heartbeat(self) -> int:
        """Beat, renew every lease held; how many were renewed. Workers silent for many leases are
        forgotten (their claims lapsed long ago)."""
        with self.store.engine.begin() as conn:
            now = db_now(conn)
            done = conn.execute(update(t.workers).where(t.workers.c.id == self.id).values(heartbeat=now))
            if done.rowcount == 0:  # forgotten after a long cut-off: come back under the same id
                conn.execute(insert(t.workers).values(id=self.id, host=self.host, pid=self.pid, started_at=now,
                                                      heartbeat=now))
            renewed = conn.execute(update(t.leases).where(t.leases.c.owner == self.id)
                                   .values(expires=now + self.lease)).rowcount
            conn.execute(delete(t.workers).where(t.workers.c.heartbeat < now - 20 * self.lease))
        return int(renewed or 0)

    def leave(self) -> None:
        """A clean stop: release every claim and drop the worker row, so others need not wait."""
        with self.store.engine.begin() as conn:
            conn.execute(delete(t.leases).where(t.leases.c.owner == self.id))
            conn.execute(delete(t.workers).where(t.workers.c.id == self.id))

    def claim(self, kind: str, name: str, *, unless_polled_since: datetime | None = None) -> bool:
        """Take the lease on (kind, name) if it is free, lapsed, or already ours. A source whose
        last poll began after ``unless_polled_since`` (another worker just polled it) is not
        claimed: checked in the claim's own transaction, it costs no extra round trip."""
        lease = t.leases.c
        try:
            with self.store.engine.begin() as conn:
                now = db_now(conn)
                before = conn.execute(select(lease.owner).where(lease.kind == kind, lease.name == name)).scalar()
                # Atomic: a second worker's UPDATE waits for the first's commit, then finds the row
                # no longer lapsed and changes nothing.
                done = conn.execute(update(t.leases)
                                    .where(lease.kind == kind, lease.name == name,
                                           (lease.expires < now) | (lease.owner == self.id))
                                    .values(owner=self.id, expires=now + self.lease, taken_at=now))
                if done.rowcount == 0:
                    if before is not None:
                        return False
                    conn.execute(insert(t.leases).values(kind=kind, name=name, owner=self.id,
                                                         expires=now + self.lease, taken_at=now))
                if unless_polled_since is not None:
                    last = conn.execute(select(t.source_state.c.last_attempt)
                                        .where(t.source_state.c.name == name)).scalar()
                    if last is not None and last > unless_polled_since:
                        raise _NotDue
        except IntegrityError:
            return False  # another worker inserted it first
        except _NotDue:
            return False  # rolled back: the lease is as it was
        if before is not None and before != self.id:
            self.takeovers += 1
            log.info("took over %s %s from worker %s (its lease lapsed)", kind, name, before)
        return True

    def release(self, kind: str, name: str) -> None:
        with self.store.engine.begin() as conn:
            conn.execute(delete(t.leases).where(t.leases.c.kind == kind, t.leases.c.name == name,
                                                t.leases.c.owner == self.id))

    def held(self) -> dict[str, int]:
        """kind -> how many unexpired leases this worker holds."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(t.leases.c.kind).where(t.leases.c.owner == self.id,
                                                              t.leases.c.expires >= db_now(conn)))
            counts: dict[str, int] = {}
            for (kind,) in rows:
                counts[kind] = counts.get(kind, 0) + 1
        return counts


@translated
def live_workers(store: Store, lease: timedelta) -> list[WorkerRow]:
    """Workers that beat within the last lease, oldest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.workers).where(t.workers.c.heartbeat >= db_now(conn) - lease)
                            .order_by(t.workers.c.started_at)).mappings().all()
    return [WorkerRow(**dict(r)) for r in rows]


@translated
def current_leases(store: Store) -> list[LeaseRow]:
    """Every unexpired lease, by owner."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(t.leases).where(t.leases.c.expires >= db_now(conn))
                            .order_by(t.leases.c.owner, t.leases.c.kind, t.leases.c.name)).mappings().all()
    return [LeaseRow(**dict(r)) for r in rows]


def assign(name: str, sources: list[str], workers: list[str]) -> str | None:
    """The worker a source falls to: the sources in name order dealt round the live workers in id
    order, so every worker that agrees on who is alive agrees on the split, and shares differ by
    at most one source."""
    if not workers or name not in sources:
        return None
    ordered = sorted(workers)
    return ordered[sorted(sources).index(name) % len(ordered)]
