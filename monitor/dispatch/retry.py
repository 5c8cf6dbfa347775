"""Dispatch stage: ``digests retry ID``, a digest's unsent deliveries sent again to where its alert
delivers now.

A delivery is keyed by its target's address (monitor/deliver/notifiers.py), so fixing a webhook's
URL or an email target's recipients gives the alert a target the digest has no delivery for, while
the old delivery's target is gone from the config. A retry therefore:
- resends each failed or waiting delivery whose target the alert still has;
- moves one whose target the alert no longer has to the alert's current targets *of the same kind*
  that have no delivery of this digest: the fixed URL gets the digest. The old delivery is kept,
  marked ``replaced``, saying by what;
- never sends to a target that has the digest already, and adds no target of a kind that did not
  fail: a retry re-sends what failed, it does not widen the digest's audience;
- leaves a delivery whose kind the alert has no target of any more as it is, and says so.
The plan is written in one transaction (``Outbox.retry_digest``) before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from monitor.deliver import Target, TargetResult, target_key, target_label
from monitor.store import DeliveryRecord, DigestRecord

Action = Literal["sent", "retry", "moved", "gone"]


@dataclass
class RetryStep:
    """What a retry does with one delivery of the digest."""

    kind: str
    label: str
    action: Action
    # The deliveries whose results say how it went: its own, or the new ones it moved to.
    targets: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    sent_at: datetime | None = None

    def line(self, digest_id: str, results: Mapping[str, TargetResult]) -> str:
        """One line for a person: what was done, and how it went."""
        head = f"digest {digest_id}: {self.label}"
        if self.action == "sent":
            when = f" ({self.sent_at:%Y-%m-%d %H:%M} UTC)" if self.sent_at else ""
            return f"{head}: sent already{when}, not sent again"
        if self.action == "gone":
            return f"{head}: the alert has no {self.kind} target any more: not retried"
        went = "; ".join(_went(results.get(t)) for t in self.targets)
        if self.action == "retry":
            return f"{head}: retried: {went}"
        return (f"{head}: its target changed in the config since; retried to the alert's current "
                f"{', '.join(self.labels)}: {went}")

    def failed(self, results: Mapping[str, TargetResult]) -> bool:
        """Whether the digest still has not reached where this step meant it to go."""
        if self.action == "sent":
            return False
        return self.action == "gone" or any(t in results and not results[t].ok for t in self.targets)


@dataclass
class RetryPlan:
    """A digest's retry: one step per delivery, and what to write before sending."""

    record: DigestRecord
    steps: list[RetryStep] = field(default_factory=list)
    due: list[str] = field(default_factory=list)  # deliveries made due now, by target key
    replaced: dict[str, str] = field(default_factory=dict)  # target key -> by what
    added: list[DeliveryRecord] = field(default_factory=list)

    @property
    def sends(self) -> bool:
        return bool(self.due or self.added)


def _went(result: TargetResult | None) -> str:
    if result is None:
        return "due now (another worker sends it)"
    return "delivered" + (f" ({result.where})" if result.where else "") if result.ok else result.state()


def plan_retry(record: DigestRecord, targets: Sequence[Target], now: datetime) -> RetryPlan:
    """The retry of ``record`` to the alert's current ``targets`` (see the module's docstring)."""
    current = {target_key(t): t for t in targets}
    # A delivery replaced by an earlier retry no longer counts: its target may be current again.
    live = {d.target for d in record.deliveries if d.status != "replaced"}
    plan = RetryPlan(record)
    adding: dict[str, DeliveryRecord] = {}
    for delivery in record.deliveries:
        step = RetryStep(delivery.kind, delivery.label, "retry", [delivery.target], [delivery.label])
        if delivery.status == "replaced":
            continue
        if delivery.status == "sent":
            step.action, step.sent_at = "sent", delivery.sent_at
        elif delivery.recipients is not None or delivery.target in current:
            # (A follow-up to recipients a mail server refused for now goes to them, as it was.)
            plan.due.append(delivery.target)
        else:
            instead = [key for key, t in current.items() if t.kind == delivery.kind and key not in live]
            step.targets, step.labels = instead, [target_label(current[key]) for key in instead]
            step.action = "moved" if instead else "gone"
            for key in instead:
                adding.setdefault(key, DeliveryRecord(record.id, key, delivery.kind, target_label(current[key]),
                                                      next_attempt=now))
            if instead:
                plan.replaced[delivery.target] = (f"replaced by the alert's current {', '.join(step.labels)} "
                                                  "(its target changed in the config)")
        plan.steps.append(step)
    plan.added = list(adding.values())
    return plan
