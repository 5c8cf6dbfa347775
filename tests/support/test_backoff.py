"""The one backoff: doubling from ``first``, capped, jittered within its bounds."""

from __future__ import annotations

import random
from datetime import timedelta

from monitor.support.backoff import backoff

MINUTE = timedelta(minutes=1)
CAP = timedelta(hours=6)


def _bounds(attempt: int, jitter: float) -> tuple[float, float]:
    delays = [backoff(attempt, first=MINUTE, cap=CAP, jitter=jitter, rng=random.Random(seed)).total_seconds()
              for seed in range(200)]
    return min(delays), max(delays)


def test_doubles_from_first_within_the_jitter() -> None:
    low, high = _bounds(1, 0.2)
    assert low >= 48 and high <= 72
    low, high = _bounds(3, 0.2)
    assert low >= 4 * 48 and high <= 4 * 72


def test_a_zero_or_negative_attempt_waits_the_first_delay() -> None:
    assert backoff(0, first=MINUTE, cap=CAP, jitter=0.0) == MINUTE
    assert backoff(-3, first=MINUTE, cap=CAP, jitter=0.0) == MINUTE


def test_capped_however_many_failures() -> None:
    assert backoff(10, first=MINUTE, cap=CAP, jitter=0.0) == CAP
    # A source failing for weeks: doubling past the cap must not overflow a timedelta.
    assert backoff(100, first=timedelta(seconds=30), cap=CAP, jitter=0.0) == CAP
    assert backoff(5000, first=MINUTE, cap=CAP, jitter=0.1) <= CAP * 1.1


def test_the_same_seed_gives_the_same_delay() -> None:
    one = backoff(4, first=MINUTE, cap=CAP, jitter=0.2, rng=random.Random(7))
    assert one == backoff(4, first=MINUTE, cap=CAP, jitter=0.2, rng=random.Random(7))
