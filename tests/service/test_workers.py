"""Workers dividing the sources on a real PostgreSQL server (monitor/service/workers.py): the first
deal waits for the workers starting together, shares differ by at most one, a dead worker's share
goes to the others."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import text

from monitor.service.workers import Coordinator
from monitor.store import Store

LEASE = timedelta(seconds=3)  # a heartbeat every second
SOURCES = [f"s{i:02d}" for i in range(12)]


def _shares(workers: list[Coordinator]) -> list[list[str]]:
    return [[s for s in SOURCES if w.mine(s, SOURCES)] for w in workers]


def test_workers_started_together_divide_the_first_poll_evenly(pg_url: str) -> None:
    store = Store.open(pg_url)
    first = Coordinator(store, LEASE)
    first.start()
    # Up alone for now: from this view it would take every source of the first wave.
    assert _shares([first]) == [[]] and not first.settled
    others = [Coordinator(store, LEASE), Coordinator(store, LEASE)]
    for worker in others:
        worker.start()
    workers = [first, *others]
    time.sleep(first.beat_every)  # one heartbeat after the last registered
    for worker in workers:
        worker.beat()
    assert all(w.settled for w in workers)
    shares = _shares(workers)
    assert sorted(s for share in shares for s in share) == SOURCES  # each source once
    assert [len(share) for share in shares] == [4, 4, 4], shares
    for worker in workers:
        worker.stop()
    store.close()


def test_a_dead_workers_share_goes_to_the_others_when_its_heartbeat_lapses(pg_url: str) -> None:
    store = Store.open(pg_url)
    workers = [Coordinator(store, LEASE) for _ in range(3)]
    for worker in workers:
        worker.start()
    time.sleep(workers[0].beat_every)
    for worker in workers:
        worker.beat()
    dead, *alive = workers
    with store.engine.begin() as conn:  # kill -9, a lease later: no heartbeat since
        conn.execute(text("UPDATE workers SET heartbeat = now() - interval '1 hour' WHERE id = :w"), {"w": dead.id})
    for worker in alive:
        worker.beat()
    shares = _shares(alive)
    assert sorted(s for share in shares for s in share) == SOURCES
    assert [len(share) for share in shares] == [6, 6]
    for worker in alive:
        worker.stop()
    store.close()
