"""Parsing in worker processes: results and errors come back, a parse over budget is killed and
its worker replaced, the event loop stays responsive meanwhile, closing is immediate."""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from monitor.errors import SourceError
from monitor.sources.feedparsing import parse_feed
from monitor.sources.parsepool import ParseBudgetExceeded, ParsePool

FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>Floods in Sindh</title><guid>g1</guid><description>Rivers rose.</description></item>"
        b"</channel></rss>")


def _catastrophic(n: int) -> bool:
    # Exponential backtracking: the kind of regex work that holds the GIL for its whole run.
    return re.match(r"(a+)+$", "a" * n + "!") is not None


def test_results_and_source_errors_come_back() -> None:
    async def scenario() -> None:
        pool = ParsePool(1)
        try:
            entries, warnings = await pool.run(parse_feed, "news", FEED, timeout=10)
            assert [e.title for e in entries] == ["Floods in Sindh"] and warnings == []
            with pytest.raises(SourceError) as info:
                await pool.run(parse_feed, "news", b"   ", timeout=10)
            assert info.value.source == "news" and "empty document" in info.value.reason
        finally:
            pool.close()

    asyncio.run(scenario())


def test_a_parse_over_budget_is_killed_and_the_loop_stays_responsive() -> None:
    async def scenario() -> None:
        pool = ParsePool(1)
        try:
            await pool.run(parse_feed, "warm", FEED, timeout=10)
            before = pool.pids
            gaps: list[float] = []

            async def ticker() -> None:
                last = time.monotonic()
                while True:
                    await asyncio.sleep(0.02)
                    now = time.monotonic()
                    gaps.append(now - last)
                    last = now

            tick = asyncio.create_task(ticker())
            started = time.monotonic()
            with pytest.raises(ParseBudgetExceeded):
                await pool.run(_catastrophic, 40, timeout=0.5)
            took = time.monotonic() - started
            tick.cancel()
            assert took < 3, took
            assert max(gaps) < 0.25, max(gaps)
            assert pool.pids and pool.pids != before  # the worker was replaced
            entries, _ = await pool.run(parse_feed, "after", FEED, timeout=10)
            assert len(entries) == 1
        finally:
            pool.close()

    asyncio.run(scenario())


def test_close_kills_busy_workers_at_once() -> None:
    async def scenario() -> float:
        pool = ParsePool(1)
        await pool.run(parse_feed, "warm", FEED, timeout=10)
        busy = asyncio.create_task(pool.run(_catastrophic, 60, timeout=60))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        pool.close()
        with pytest.raises(Exception):  # noqa: B017 - the caller learns its worker is gone
            await busy
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 3
