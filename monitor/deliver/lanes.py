"""The outbox's sending half: every due delivery sent, one lane per target, each result recorded.

Each target is its own lane: deliveries to one target go one after another (oldest first) while
the targets run concurrently, so one target's outage or hang never holds up another. A result is
recorded after its send: sent, or failed with its next attempt (exponential backoff, at most
MAX_ATTEMPTS), or given up; recipients a mail server refused for now get a follow-up delivery of
their own. A retry sends the stored digest again: the same id and the same bytes. A send cut off
in flight (the daemon stopping after its grace period) is logged as abandoned and left pending as
it was: the next run sends it again under the same id, so it is neither lost nor doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from monitor.config import Config, EmailTarget
from monitor.deliver.notifiers import NOTIFIERS, Target, deliver, notifier, target_key
from monitor.deliver.report import DigestOutcome, TargetResult, roughly
from monitor.deliver.session import DeliverySession
from monitor.errors import DeliveryError
from monitor.models import RenderedDigest
from monitor.store import DeliveryRecord, DigestRecord, Outbox
from monitor.support.backoff import backoff
from monitor.support.durations import format_duration
from monitor.support.redact import redact_text

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=6)
RETRY_JITTER = 0.2
# A target's own timeouts (SMTP, webhook) should end a send long before this; it is the last
# guard against a peer that trickles bytes forever.
SEND_CAP = timedelta(minutes=5)


class DigestClaims(Protocol):
    """Leases on digests where several workers share one database (monitor/service/workers.py):
    a digest's due deliveries are sent by the one worker holding its lease."""

    def claim_digest(self, digest_id: str) -> bool: ...

    def release_digest(self, digest_id: str) -> None: ...


class Lanes:
    """Sends the due deliveries of one outbox to the targets the config names."""

    def __init__(self, config: Config, outbox: Outbox, *, clock: Callable[[], datetime],
                 rng: random.Random, claims: DigestClaims | None = None) -> None:
        self.config = config
        self.alerts = {a.name: a for a in config.alerts}
        self.outbox = outbox
        self.clock = clock
        self.rng = rng
        self.claims = claims

    def retry_in(self, attempts: int) -> timedelta:
        """The wait after a delivery's ``attempts``-th failure: 1m, 2m, 4m ... 6h, +-20%."""
        return backoff(attempts, first=FIRST_RETRY, cap=MAX_RETRY, jitter=RETRY_JITTER, rng=self.rng)

    async def send_due(self, outcomes: dict[str, DigestOutcome] | None = None, *,
                       force: bool = False, digest_id: str | None = None) -> list[DigestOutcome]:
        """Send every pending delivery that is due (all pending ones when ``force``; only those of
        one digest with ``digest_id``); ``outcomes`` are the lines of digests claimed this pass, by
        id, to fill with their results."""
        outcomes = {} if outcomes is None else outcomes
        due = self._due(force, digest_id)
        if not due:
            return list(outcomes.values())
        claims = self.claims
        if claims is None:
            return await self._send_lanes(due, outcomes)
        held = [d for d in dict.fromkeys(x.digest_id for x in due) if claims.claim_digest(d)]
        # Read again under the claims: what another worker sent meanwhile is no longer due.
        mine = set(held)
        due = [d for d in self._due(force, digest_id) if d.digest_id in mine]
        try:
            return await self._send_lanes(due, outcomes)
        finally:
            for digest_id in held:
                with contextlib.suppress(Exception):  # the database went away: the lease lapses instead
                    claims.release_digest(digest_id)

    def _due(self, force: bool, digest_id: str | None) -> list[DeliveryRecord]:
        due = self.outbox.due_deliveries(None if force else self.clock())
        return due if digest_id is None else [d for d in due if d.digest_id == digest_id]

    async def _send_lanes(self, due: list[DeliveryRecord],
                          outcomes: dict[str, DigestOutcome]) -> list[DigestOutcome]:
        if not due:
            return list(outcomes.values())
        lanes: dict[tuple[str, str], list[DeliveryRecord]] = {}
        records: dict[str, DigestRecord] = {}
        for delivery in due:
            if delivery.digest_id not in records:
                record = self.outbox.digest(delivery.digest_id)
                if record is None:
                    continue
                records[delivery.digest_id] = record
            record = records[delivery.digest_id]
            lanes.setdefault((record.alert, delivery.target), []).append(delivery)
            if delivery.digest_id not in outcomes:
                outcomes[delivery.digest_id] = DigestOutcome(record.alert, record.id, record.item_count, retry=True)

        async with DeliverySession(self.config.smtp) as session:
            async def lane(deliveries: list[DeliveryRecord]) -> None:
                for delivery in deliveries:
                    record = records[delivery.digest_id]
                    result = await self._send(session, record, delivery)
                    outcomes[record.id].results.append(result)

            await asyncio.gather(*(lane(d) for d in lanes.values()))
        order = list(NOTIFIERS)
        for outcome in outcomes.values():
            outcome.results.sort(key=lambda r: order.index(r.kind) if r.kind in order else len(order))
        return list(outcomes.values())

    def _target(self, record: DigestRecord, delivery: DeliveryRecord) -> Target | None:
        """Where a delivery goes now: its target as the config names it, None when it no longer does."""
        alert = self.alerts.get(record.alert)
        if alert is None:
            return None
        if delivery.recipients:
            return EmailTarget(kind="email", to=delivery.recipients)  # a follow-up to refused recipients
        return next((t for t in alert.deliver if target_key(t) == delivery.target), None)

    async def _send(self, session: DeliverySession, record: DigestRecord, delivery: DeliveryRecord) -> TargetResult:
        target = self._target(record, delivery)
        if target is None:
            # The config no longer names this target: nowhere to send it. `digests retry` sends it to
            # the alert's current target of its kind (a fixed URL), an operator's explicit choice.
            return self._record(delivery, DeliveryError(
                f"alert '{record.alert}' no longer has the target {delivery.label} (`advisory-monitor digests "
                f"retry {record.id}` sends it to the alert's current {delivery.kind} targets)", retryable=False))
        rendered = RenderedDigest.model_validate(record.rendered)
        log.info("sending digest %s of %s to %s (attempt %d)", record.id, record.alert, delivery.label,
                 delivery.attempts + 1)
        try:
            outcome = await asyncio.wait_for(deliver(session, target, rendered), SEND_CAP.total_seconds())
        except DeliveryError as exc:
            return self._record(delivery, exc)
        except TimeoutError:
            return self._record(delivery, DeliveryError(f"no answer in {format_duration(SEND_CAP)}", retryable=True))
        except asyncio.CancelledError:
            # Nothing is recorded: the delivery stays pending, due as before, for the next run.
            # The target by its label (a webhook's host), never its URL: a webhook's path can be its secret
            # (chat services put the token there), which no URL redaction can tell from a plain path.
            log.warning("abandoned the send of digest %s of %s to %s on stopping: it stays pending and is sent "
                        "again with the same id on the next run", record.id, record.alert, redact_text(delivery.label))
            raise
        except Exception as exc:  # one target's bug must not stop the other lanes
            log.exception("unexpected error delivering digest %s to %s", record.id, delivery.label)
            return self._record(delivery, DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True))
        where = notifier(target).where(target, record.id)
        refused = "; ".join(f"{who}: {why}" for who, why in outcome.failures.items())
        return self._record(delivery, None, where, refused or None, self._follow_up(delivery, outcome.failures))

    def _follow_up(self, delivery: DeliveryRecord, failures: dict[str, str]) -> DeliveryRecord | None:
        """A new delivery of the digest to the recipients the server refused for now (a 4xx reply:
        greylisting, a full mailbox) while it accepted the others: resending the whole message would
        reach those twice. Refused for good (5xx) is only reported."""
        later = sorted(who for who, reply in failures.items() if reply[:1] == "4")
        if not later:
            return None
        key = "email-" + hashlib.sha256(f"{delivery.target}:{','.join(later)}".encode()).hexdigest()[:12]
        first_retry = self.clock() + self.retry_in(1)
        return DeliveryRecord(delivery.digest_id, key, "email", f"email to {', '.join(later)} (refused for now)",
                              next_attempt=first_retry, recipients=later)

    def _record(self, delivery: DeliveryRecord, error: DeliveryError | None, where: str | None = None,
                refused: str | None = None, follow_up: DeliveryRecord | None = None) -> TargetResult:
        now = self.clock()
        delivery.attempts += 1
        result = TargetResult(delivery.kind, delivery.label, error is None, where=where, target=delivery.target)
        if error is None:
            delivery.status, delivery.sent_at, delivery.last_error, delivery.next_attempt = "sent", now, refused, None
            if refused:
                result.where = f"refused by the server: {refused}"
                log.warning("digest %s to %s: some recipients refused: %s", delivery.digest_id, delivery.label,
                            refused)
        else:
            result.error = error.message
            delivery.last_error = error.message
            if error.retryable and delivery.attempts < MAX_ATTEMPTS:
                result.retry_in = self.retry_in(delivery.attempts)
                delivery.next_attempt = now + result.retry_in
            else:
                delivery.status, delivery.next_attempt = "failed", None
            log.warning("delivery of digest %s to %s failed (attempt %d): %s", delivery.digest_id, delivery.label,
                        delivery.attempts, error.message)
        self.outbox.record_delivery(delivery, follow_up)
        if follow_up is not None and follow_up.next_attempt is not None:
            later = ", ".join(follow_up.recipients or ())
            result.where = f"{result.where}; retrying {later} in {roughly(follow_up.next_attempt - now)}"
        return result
