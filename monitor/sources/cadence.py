"""Sources stage: when a source is polled next, decided by the poll that just ended.

The time is stored with the source's state (``source_state.next_due``) in the poll's own write,
and everything that acts on it or shows it reads it from there: the daemon's scheduler, ``status``
and ``/healthz``. There is no second clock to disagree with it.

After a success the source waits its own ``every``, plus up to a tenth of it (at most 30 s) so that
sources sharing one interval drift apart instead of fetching in bursts. After the n-th failure in a
row it waits 30 s doubled per earlier failure (+-10%), at most 6 h, and never less than ``every``:
a failing source is polled at max(every, backoff), and a success starts over.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from monitor.support.backoff import backoff

FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=6)
BACKOFF_JITTER = 0.1
MAX_SPREAD = timedelta(seconds=30)


def retry_wait(failures: int, every: timedelta, rng: random.Random | None = None) -> timedelta:
    """The wait after the ``failures``-th failure in a row: max(every, backoff), backoff capped at 6 h."""
    wait = backoff(failures, first=FIRST_BACKOFF, cap=MAX_BACKOFF, jitter=BACKOFF_JITTER, rng=rng)
    # The jitter spreads retries below the cap; it never takes one past it.
    return max(every, min(wait, MAX_BACKOFF))


def next_poll(now: datetime, every: timedelta, failures: int, rng: random.Random | None = None) -> datetime:
    """When a source polled at ``now`` is polled again, ``failures`` being its failures in a row
    (0 after a success)."""
    if failures > 0:
        return now + retry_wait(failures, every, rng)
    spread = min(every / 10, MAX_SPREAD)
    return now + every + spread * (rng or random).uniform(0, 1)
