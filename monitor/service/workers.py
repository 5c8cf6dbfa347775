"""A daemon's part in a group of workers sharing one PostgreSQL database (the leases themselves:
monitor/store/leases.py).

Sources are dealt round the live workers (those whose heartbeat is younger than a lease): each
worker polls only the sources that fall to it, and when a worker stops beating its sources fall to
the others. A worker claims nothing until its view has settled: it waits one heartbeat after
registering, so that workers started together (on a loaded machine their registrations spread over
a second or more) all see each other before the first poll, instead of the first one up taking
every source of the first wave. The lease taken around each poll is what guarantees one poller at a
time while workers disagree for a moment on who is alive; the due check in the claim keeps a source
handed over mid-interval from being polled twice in a row. Digest sends are claimed the same way
(monitor/dispatch/dispatcher.py), so a pending delivery goes out from one worker.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

from monitor.service.metrics import Metrics
from monitor.store import Store
from monitor.store.leases import Leases, assign, live_workers

log = logging.getLogger(__name__)

KINDS = ("source", "digest")


class Coordinator:
    def __init__(self, store: Store, lease: timedelta, metrics: Metrics | None = None) -> None:
        self.store = store
        self.lease = lease
        self.leases = Leases(store, lease)
        self.metrics = metrics
        self.live: list[str] = []
        # True once a beat made at least one heartbeat after registering has read who is alive.
        self.settled = False
        self._registered: float | None = None
        self._takeovers_counted = 0

    @property
    def id(self) -> str:
        return self.leases.id

    @property
    def beat_every(self) -> float:
        """Three beats per lease: a claim survives two missed beats."""
        return self.lease.total_seconds() / 3

    # -- blocking calls (the daemon runs them on a thread) -------------------------------------
    def start(self) -> None:
        self.leases.register()
        self._registered = time.monotonic()
        self.beat()

    def beat(self) -> None:
        # Judged before reading who is alive: the view read below then holds every worker that
        # registered within a heartbeat of this one.
        settling = self._registered is not None and time.monotonic() - self._registered >= self.beat_every
        self.leases.heartbeat()
        live = [w.id for w in live_workers(self.store, self.lease)]
        if live != self.live:
            log.info("live workers: %d (%s)", len(live), ", ".join(live))
        self.live = live if self.id in live else [*live, self.id]
        if settling and not self.settled:
            self.settled = True
            log.info("worker %s polls its share of the sources from now on", self.id)
        self._publish()

    def stop(self) -> None:
        self.leases.leave()

    def mine(self, source: str, sources: list[str]) -> bool:
        """Whether this worker should poll the source, of the enabled ``sources`` (no database
        access: the last beat's view of who is alive); never before that view has settled."""
        return self.settled and assign(source, sources, self.live or [self.id]) == self.id

    def claim_source(self, name: str, every: timedelta) -> bool:
        """Claim the poll of a source that is due; False when another worker holds or just polled it."""
        # Half an interval: a scheduler firing a little early still polls, a source handed over
        # mid-interval is not polled twice in a row.
        if not self.leases.claim("source", name, unless_polled_since=datetime.now(UTC) - every / 2):
            return False
        self._publish_takeovers()
        return True

    def release_source(self, name: str) -> None:
        self.leases.release("source", name)

    def claim_digest(self, digest_id: str) -> bool:
        claimed = self.leases.claim("digest", digest_id)
        if claimed:
            self._publish_takeovers()
        return claimed

    def release_digest(self, digest_id: str) -> None:
        self.leases.release("digest", digest_id)

    # -- metrics -------------------------------------------------------------------------------
    def _publish(self) -> None:
        if self.metrics is None:
            return
        held = self.leases.held()
        for kind in KINDS:
            self.metrics.worker_leases.labels(kind).set(held.get(kind, 0))
        self._publish_takeovers()

    def _publish_takeovers(self) -> None:
        if self.metrics is not None and self.leases.takeovers > self._takeovers_counted:
            self.metrics.lease_takeovers.inc(self.leases.takeovers - self._takeovers_counted)
            self._takeovers_counted = self.leases.takeovers
