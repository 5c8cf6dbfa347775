"""Delivery stage: rendered digests to their targets (email, webhook, file), recorded after each send.

``deliver`` sends one rendered digest to one target through a ``DeliverySession`` (the cycle's
shared connections) and returns a DeliveryOutcome or raises DeliveryError whose ``retryable``
tells the outbox whether to try again with the same digest id. ``Lanes`` sends every due
delivery, one lane per target, and records each result with its retry or follow-up.
"""

from __future__ import annotations

from monitor.deliver.lanes import DigestClaims, Lanes
from monitor.deliver.notifiers import (
    NOTIFIERS,
    Notifier,
    Target,
    check_target,
    deliver,
    notifier,
    target_key,
    target_label,
)
from monitor.deliver.outcome import DeliveryOutcome
from monitor.deliver.report import DigestOutcome, TargetResult
from monitor.deliver.session import DeliverySession
from monitor.errors import DeliveryError

__all__ = ["NOTIFIERS", "DeliveryError", "DeliveryOutcome", "DeliverySession", "DigestClaims", "DigestOutcome",
           "Lanes", "Notifier", "Target", "TargetResult", "check_target", "deliver", "notifier", "target_key",
           "target_label"]
