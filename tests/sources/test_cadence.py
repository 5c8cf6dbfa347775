"""When a source is polled next (monitor/sources/cadence.py), with explicit times: its interval
after a success, max(every, backoff) after failures, backoff 30 s doubling to at most 6 h."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from monitor.sources.cadence import next_poll

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECOND, HOUR = timedelta(seconds=1), timedelta(hours=1)


def _waits(failures: int, every: timedelta) -> tuple[float, float]:
    waits = [(next_poll(NOW, every, failures, random.Random(seed)) - NOW).total_seconds() for seed in range(200)]
    return min(waits), max(waits)


def test_the_first_failure_waits_30_s_even_for_a_source_polled_every_2_s() -> None:
    low, high = _waits(1, 2 * SECOND)
    assert low >= 27 and high <= 33


def test_each_failure_in_a_row_doubles_the_wait() -> None:
    for failures, base in ((2, 60), (3, 120), (5, 480)):
        low, high = _waits(failures, 2 * SECOND)
        assert 0.9 * base <= low and high <= 1.1 * base


def test_the_wait_is_capped_at_6_hours_however_long_the_source_fails() -> None:
    for failures in (11, 12, 40, 5000):  # 30 s * 2**10 is past 6 h
        low, high = _waits(failures, 2 * SECOND)
        assert low >= 0.9 * 6 * 3600 and high <= 6 * 3600


def test_a_failing_source_is_never_polled_sooner_than_its_own_interval() -> None:
    assert _waits(1, 12 * HOUR) == (12 * 3600, 12 * 3600)  # above the cap: its interval
    low, _ = _waits(2, 90 * SECOND)  # a backoff of 54-66 s: its 90 s instead
    assert low == 90


def test_after_a_success_the_interval_plus_at_most_a_tenth_of_it_capped_at_30_s() -> None:
    low, high = _waits(0, 2 * SECOND)
    assert low >= 2 and high <= 2.2
    low, high = _waits(0, HOUR)
    assert low >= 3600 and high <= 3630
    assert high > low  # spread: sources sharing an interval drift apart
