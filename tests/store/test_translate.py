"""The store's error edge (monitor/store/translate.py): whatever SQLAlchemy raises leaves the store as
a StoreError, flagged transient when trying again may help: a real SQLite file locked by a second
connection, a PostgreSQL port where nothing listens, and errors no retry can cure."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, text

from monitor.errors import StoreError
from monitor.store import AdvisoryLevels, ItemGeometry, Leases, Outbox, SourceState, Store, current_leases, live_workers
from monitor.store import schema as t
from monitor.store.dialects import make_engine
from monitor.store.migrate import current
from tests.ports import free_port

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Store]:
    """A store whose file a second connection holds the write lock of; its busy timeout is short, so
    a write gives up at once instead of waiting the daemon's 30 s."""
    url = f"sqlite:///{tmp_path}/monitor.db"
    Store.open(url).close()
    holder = sqlite3.connect(tmp_path / "monitor.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, held until rollback
    store = Store(create_engine(url, connect_args={"timeout": 0.05}), url)
    try:
        yield store
    finally:
        store.close()
        holder.execute("ROLLBACK")
        holder.close()


def test_a_locked_sqlite_database_is_a_transient_store_error(locked: Store) -> None:
    with pytest.raises(StoreError) as caught:
        locked.save_source_state(SourceState("news", last_error="x"))
    assert caught.value.transient
    assert caught.value.message == "database error: database is locked"
    assert isinstance(caught.value.__cause__, Exception)  # the driver's error stays attached


def test_a_transaction_is_translated_too_and_keeps_the_existing_messages(locked: Store) -> None:
    with pytest.raises(StoreError) as caught, locked.transaction() as conn:
        conn.execute(insert(t.meta).values(key="x", value="y"))
    assert caught.value.transient
    with pytest.raises(StoreError, match=r"^could not write digest d1: \(sqlite3.OperationalError\) database "
                                         r"is locked") as claimed:
        from monitor.store import DigestRecord

        Outbox(locked).claim_digest(DigestRecord(id="d1", alert="a", created_at=NOW, item_count=0, carried=0,
                                                 subject="s", rendered={}))
    assert claimed.value.transient


def test_errors_no_retry_cures_are_not_transient(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/monitor.db")
    try:
        with pytest.raises(StoreError) as duplicate, store.transaction() as conn:
            conn.execute(insert(t.meta).values(key="schema_version", value="1"))  # the row exists
        assert not duplicate.value.transient and "UNIQUE constraint failed" in duplicate.value.message
        with store.transaction() as conn:
            conn.execute(text("DROP TABLE dedup_keys"))
        with pytest.raises(StoreError) as missing:
            store.dedup_keys_count()
        assert not missing.value.transient and missing.value.message == "database error: no such table: dedup_keys"
        candidates = store.dedup_candidates(NOW - timedelta(days=1))
        with store.transaction() as conn:
            conn.execute(text("ALTER TABLE items RENAME TO gone"))
        with pytest.raises(StoreError, match="no such table: items"):  # raised while iterating a generator
            list(candidates)
    finally:
        store.close()


def test_a_refused_postgresql_connection_is_transient_everywhere() -> None:
    url = f"postgresql://monitor@127.0.0.1:{free_port()}/monitor"  # nothing listens there
    with pytest.raises(StoreError, match=r"^cannot open database .*: connection failed") as opening:
        Store.open(url)
    assert opening.value.transient
    store = Store(make_engine(url), url)
    calls: list[Callable[[], Any]] = [
        store.count_items, lambda: store.source_states(), lambda: list(store.dedup_candidates(NOW)),
        lambda: store.transaction().__enter__(), Outbox(store).pending_count, AdvisoryLevels(store).history,
        lambda: AdvisoryLevels(store).current(), lambda: ItemGeometry(store).shapes(["a"]),
        Leases(store, timedelta(seconds=30)).held, lambda: live_workers(store, timedelta(seconds=30)),
        lambda: current_leases(store), lambda: current(store.engine)]
    try:
        for call in calls:
            with pytest.raises(StoreError) as caught:
                call()
            assert caught.value.transient, caught.value
            assert caught.value.hint and "try again" in caught.value.hint
    finally:
        store.close()
