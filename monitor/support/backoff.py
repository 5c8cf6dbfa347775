"""Exponential backoff with jitter, shared by failing sources and failed deliveries.

Each caller passes its own policy (first delay, cap, jitter): a source waits 30 s, 1 m, 2 m ...
up to 6 h (or its own poll interval) +-10%; a delivery waits 1 m, 2 m, 4 m ... up to 6 h +-20%.
"""

from __future__ import annotations

import random
from datetime import timedelta


def backoff(attempt: int, *, first: timedelta, cap: timedelta, jitter: float,
            rng: random.Random | None = None) -> timedelta:
    """The wait after the ``attempt``-th failure in a row: ``first`` doubled per earlier failure,
    never above ``cap``, scaled by a random factor in [1 - jitter, 1 + jitter] so that retries
    do not bunch up."""
    factor = 2 ** max(attempt - 1, 0)
    # Compared before multiplying: a source failing for weeks reaches factors that overflow a timedelta.
    base = cap if factor >= cap / first else min(first * factor, cap)
    return timedelta(seconds=base.total_seconds() * (rng or random).uniform(1 - jitter, 1 + jitter))
