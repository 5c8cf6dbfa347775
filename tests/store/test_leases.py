"""Leases on a real PostgreSQL server (monitor/store/leases.py, monitor/service/workers.py): one holder per
claim, takeover when a lease lapses, lease times from the database's clock, sources dealt evenly."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text, update

from monitor.service.workers import Coordinator
from monitor.store import SourceState, Store
from monitor.store import schema as t
from monitor.store.leases import Leases, assign, current_leases, live_workers
from tests.pg import PostgresServer

LEASE = timedelta(seconds=30)


def _worker(store: Store, pid: int) -> Leases:
    leases = Leases(store, LEASE, host="test", pid=pid)
    leases.register()
    return leases


def _lapse(store: Store, owner: str) -> None:
    """What a worker killed with -9 leaves behind once its lease time has passed."""
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE leases SET expires = now() - interval '1 second' WHERE owner = :o"), {"o": owner})
        conn.execute(text("UPDATE workers SET heartbeat = now() - interval '1 hour' WHERE id = :o"), {"o": owner})


def test_one_worker_claims_the_other_cannot_until_released(pg_url: str) -> None:
    store = Store.open(pg_url)
    a, b = _worker(store, 1), _worker(store, 2)
    assert a.claim("source", "news")
    assert not b.claim("source", "news")
    assert a.claim("source", "news")  # its own claim: renewed
    assert b.claim("digest", "d1")  # other things stay free
    assert a.heartbeat() == 1
    a.release("source", "news")
    assert b.claim("source", "news") and not a.claim("source", "news")
    assert {(x.kind, x.name, x.owner) for x in current_leases(store)} == {("source", "news", b.id),
                                                                           ("digest", "d1", b.id)}
    store.close()


def test_a_lapsed_lease_is_taken_over_and_the_old_holder_cannot_renew_it(pg_url: str) -> None:
    store = Store.open(pg_url)
    a, b = _worker(store, 1), _worker(store, 2)
    assert a.claim("source", "news")
    _lapse(store, a.id)
    assert [w.id for w in live_workers(store, LEASE)] == [b.id]
    assert b.claim("source", "news") and b.takeovers == 1
    assert a.heartbeat() == 0  # back from a cut-off: what it held is no longer its own
    assert not a.claim("source", "news")
    assert {w.id for w in live_workers(store, LEASE)} == {a.id, b.id}
    store.close()


def test_many_workers_claiming_at_once_give_one_holder(pg_url: str) -> None:
    store = Store.open(pg_url)
    workers = [_worker(store, pid) for pid in range(8)]
    for name in ("d0", "d1", "d2", "d3", "d4"):
        with ThreadPoolExecutor(8) as pool:
            won = list(pool.map(lambda w, n=name: w.claim("digest", n), workers))
        assert won.count(True) == 1
    store.close()


def test_lease_times_are_the_database_clock_not_the_host_clock(pg_url: str) -> None:
    store = Store.open(pg_url)
    a = _worker(store, 1)
    assert a.claim("source", "news")
    with store.engine.connect() as conn:
        db_now = conn.execute(text("SELECT now()")).scalar_one()
    [lease] = current_leases(store)
    assert abs((lease.expires - db_now) - LEASE) < timedelta(seconds=5)
    # A host whose clock is hours off changes nothing: the claim is judged by now() in the database.
    with store.engine.begin() as conn:
        conn.execute(update(t.leases).values(taken_at=datetime(2000, 1, 1, tzinfo=UTC)))
    assert not _worker(store, 2).claim("source", "news")
    store.close()


def test_sources_are_dealt_evenly_and_move_when_a_worker_goes() -> None:
    sources = [f"s{i:02d}" for i in range(12)]
    workers = ["w1", "w2", "w3"]
    shares = {w: [s for s in sources if assign(s, sources, workers) == w] for w in workers}
    assert [len(v) for v in shares.values()] == [4, 4, 4]
    after = {w: [s for s in sources if assign(s, sources, ["w1", "w3"]) == w] for w in ("w1", "w3")}
    assert sorted(after["w1"] + after["w3"]) == sources and [len(v) for v in after.values()] == [6, 6]


def test_a_source_polled_just_now_by_another_worker_is_not_polled_again(pg_url: str) -> None:
    store = Store.open(pg_url)
    coordinator = Coordinator(store, LEASE)
    coordinator.start()
    every = timedelta(minutes=10)
    assert coordinator.claim_source("news", every)
    coordinator.release_source("news")
    store.save_source_state(SourceState(name="news", last_attempt=datetime.now(UTC)))
    assert not coordinator.claim_source("news", every)
    assert current_leases(store) == []  # the claim made to check is given back
    coordinator.stop()
    assert live_workers(store, LEASE) == []
    store.close()


def test_a_database_restart_is_survived_without_reopening(pg_server: PostgresServer) -> None:
    store = Store.open(pg_server.create_database())
    coordinator = Coordinator(store, LEASE)
    coordinator.start()
    assert coordinator.claim_digest("d1")
    pg_server.stop()
    try:
        with pytest.raises(Exception, match=r"connect|terminat|closed"):
            coordinator.beat()
    finally:
        pg_server.start()
    coordinator.beat()  # the pool replaced its dead connections: no restart of the worker
    assert [(x.kind, x.name, x.owner) for x in current_leases(store)] == [("digest", "d1", coordinator.id)]
    coordinator.stop()
    store.close()
