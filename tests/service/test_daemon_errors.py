"""What the daemon catches (monitor/service/daemon.py): the database's errors (StoreError) are one
line and the work goes on; anything else is a bug, logged with its traceback, and the loops that
are no scheduler job (the heartbeat, work started outside the scheduler) still go on."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.service.daemon import Daemon, _logged
from monitor.service.workers import Coordinator
from monitor.store import Store
from monitor.store.dialects import make_engine
from tests.ports import free_port

LEASE = timedelta(seconds=0.3)  # a beat every 0.1 s


def _daemon(tmp_path: Path) -> Daemon:
    (tmp_path / "articles").mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(f"database: sqlite:///{tmp_path}/monitor.db\n"
                      "sources:\n  - {name: articles, kind: files, path: articles}\n", encoding="utf-8")
    return Daemon(config)


async def _beats(daemon: Daemon, caplog: pytest.LogCaptureFixture, failures: int) -> list[logging.LogRecord]:
    """Run the heartbeat loop until it has logged ``failures`` failed beats (at most 20 s)."""
    beat = asyncio.create_task(daemon._beat())
    try:
        for _ in range(400):
            found = [r for r in caplog.records if r.getMessage().startswith("heartbeat failed")]
            if len(found) >= failures or beat.done():
                break
            await asyncio.sleep(0.05)
        assert not beat.done(), "the heartbeat loop ended"
        return found
    finally:
        beat.cancel()


def test_a_database_that_went_away_is_one_warning_per_beat(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"postgresql://monitor@127.0.0.1:{free_port()}/monitor"  # nothing listens there
    daemon = _daemon(tmp_path)
    store = Store(make_engine(url), url)
    daemon.coordinator = Coordinator(store, LEASE)
    try:
        records = asyncio.run(_beats(daemon, caplog, 2))
    finally:
        store.close()
    assert len(records) >= 2
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in records)
    assert "connection failed" in records[0].getMessage()


def test_a_bug_in_the_heartbeat_is_logged_with_its_traceback_and_the_loop_goes_on(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    daemon = _daemon(tmp_path)
    coordinator = Coordinator(Store.open(f"sqlite:///{tmp_path}/monitor.db"), LEASE)
    coordinator.store.close()
    coordinator.leases.store = None  # type: ignore[assignment]  # a bug: beats now raise AttributeError
    daemon.coordinator = coordinator
    records = asyncio.run(_beats(daemon, caplog, 2))
    assert len(records) >= 2
    assert all(r.levelno == logging.ERROR and r.exc_info is not None for r in records)
    assert records[0].exc_info is not None and records[0].exc_info[0] is AttributeError


def test_work_started_outside_the_scheduler_logs_its_bug(caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> None:
        raise KeyError("oops")

    asyncio.run(_logged(broken(), "dispatch at start"))  # does not raise
    (record,) = [r for r in caplog.records if r.getMessage() == "dispatch at start failed unexpectedly"]
    assert record.exc_info is not None and record.exc_info[0] is KeyError
