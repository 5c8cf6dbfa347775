"""Targets by kind: every configurable kind has a notifier, keys and labels stay what the outbox stored."""

from __future__ import annotations

import asyncio
import typing
from pathlib import Path

import pytest

from monitor.config import EmailTarget, FileTarget, WebhookTarget
from monitor.config.delivery import Target
from monitor.deliver import NOTIFIERS, DeliverySession, deliver, notifier, target_key, target_label
from monitor.errors import DeliveryError
from monitor.models import RenderedDigest

FILE = FileTarget(kind="file", path=Path("/srv/digests"))
EMAIL = EmailTarget(kind="email", to=["Ops@Example.org", " desk@example.org"])
WEBHOOK = WebhookTarget(kind="webhook", url="https://user:tok@hooks.example.net:8443/T0/secret?x=1")


def test_every_target_kind_in_the_config_has_a_notifier() -> None:
    union = typing.get_args(Target)[0]
    kinds = {typing.get_args(model.model_fields["kind"].annotation)[0] for model in typing.get_args(union)}
    assert kinds == set(NOTIFIERS)
    for target in (FILE, EMAIL, WEBHOOK):
        assert notifier(target).kind == target.kind


def test_keys_and_labels_are_unchanged() -> None:
    # The keys are stored with every pending delivery: a new key would orphan what is waiting.
    assert [target_key(t) for t in (FILE, EMAIL, WEBHOOK)] == [
        "file-011c4a3e6a32", "email-08f63f3f3cd6", "webhook-4a3fda22b4cf"]
    assert target_key(EmailTarget(kind="email", to=["desk@example.org", "OPS@example.org "])) == target_key(EMAIL)
    # A webhook's path, query and credentials may carry its token: the label shows the host only.
    assert [target_label(t) for t in (FILE, EMAIL, WEBHOOK)] == [
        "file /srv/digests", "email Ops@Example.org,  desk@example.org", "webhook hooks.example.net:8443"]


def test_only_a_file_target_says_where_the_digest_is() -> None:
    assert notifier(FILE).where(FILE, "d1") == "/srv/digests/d1/"
    assert notifier(EMAIL).where(EMAIL, "d1") is None and notifier(WEBHOOK).where(WEBHOOK, "d1") is None


def test_a_kind_nothing_sends_to_is_refused_for_good(rendered: RenderedDigest) -> None:
    stray = FileTarget.model_construct(kind="pager", path=Path("/nowhere"))

    async def scenario() -> None:
        async with DeliverySession(None) as session:
            await deliver(session, stray, rendered)

    with pytest.raises(DeliveryError) as caught:
        asyncio.run(scenario())
    assert not caught.value.retryable and "unknown delivery target" in caught.value.message
