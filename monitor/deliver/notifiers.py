"""The delivery targets by ``kind``: how each one sends a digest, is keyed and is shown.

Adding a target kind: its config model in monitor/config/delivery.py, its sender module here in
monitor/deliver/, and one ``Notifier`` in ``NOTIFIERS`` below.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from monitor.config import EmailTarget, FileTarget, WebhookTarget
from monitor.deliver import email, file, webhook
from monitor.deliver.outcome import DeliveryOutcome
from monitor.deliver.session import DeliverySession
from monitor.errors import DeliveryError
from monitor.models import RenderedDigest

Target = FileTarget | EmailTarget | WebhookTarget
T = TypeVar("T", bound=Target)


@dataclass(frozen=True)
class Notifier(Generic[T]):
    """What the outbox needs of one kind of target."""

    kind: str
    send: Callable[[DeliverySession, T, RenderedDigest], Awaitable[DeliveryOutcome]]
    # What identifies the target within its alert (hashed into its key, never shown).
    address: Callable[[T], str]
    # How people are shown the target: nothing that may carry a secret (a URL's path or query).
    label: Callable[[T], str]
    # Where a sent digest can be found, for the cycle report (a file target's folder).
    where: Callable[[T, str], str | None] = lambda target, digest_id: None
    # Renders what the target adds of its own to a rendered digest (a webhook's body template) and
    # raises its TemplateError; run on a sample digest when the config loads.
    check: Callable[[T, RenderedDigest], None] = lambda target, rendered: None


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd())) + "/"
    except ValueError:
        return str(path) + "/"


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]


async def _send_file(session: DeliverySession, target: FileTarget, rendered: RenderedDigest) -> DeliveryOutcome:
    return await file.write(target, rendered, session.sender)


async def _send_email(session: DeliverySession, target: EmailTarget, rendered: RenderedDigest) -> DeliveryOutcome:
    return await email.send(session.smtp_connection(), target.to, rendered)


async def _send_webhook(session: DeliverySession, target: WebhookTarget,
                        rendered: RenderedDigest) -> DeliveryOutcome:
    return await webhook.post(session.http_client(), target, rendered)


FILE: Notifier[FileTarget] = Notifier(
    "file", _send_file, address=lambda t: str(t.path), label=lambda t: f"file {t.path}",
    where=lambda t, digest_id: _display(Path(t.path) / digest_id))
EMAIL: Notifier[EmailTarget] = Notifier(
    "email", _send_email, address=lambda t: ",".join(sorted(a.strip().lower() for a in t.to)),
    label=lambda t: "email " + ", ".join(t.to))
def _check_webhook(target: WebhookTarget, rendered: RenderedDigest) -> None:
    if target.template is not None:
        webhook.body_of(target.template, rendered)


WEBHOOK: Notifier[WebhookTarget] = Notifier(
    "webhook", _send_webhook, address=lambda t: t.url, label=lambda t: f"webhook {_host(t.url)}",
    check=_check_webhook)

# In the order a digest's results are reported. The values differ in their target type, which a
# dict cannot say; ``notifier`` gives each back typed by the target it is asked for.
NOTIFIERS: dict[str, Notifier[Any]] = {n.kind: n for n in (FILE, EMAIL, WEBHOOK)}


def notifier(target: T) -> Notifier[T]:
    """The notifier of the target's kind; DeliveryError for a kind nothing sends to."""
    found = NOTIFIERS.get(target.kind)
    if found is None:
        raise DeliveryError(f"unknown delivery target {type(target).__name__}", retryable=False)
    return cast(Notifier[T], found)


async def deliver(session: DeliverySession, target: Target, rendered: RenderedDigest) -> DeliveryOutcome:
    """Deliver one rendered digest to one target; raises DeliveryError(retryable=...)."""
    return await notifier(target).send(session, target, rendered)


def check_target(target: Target, rendered: RenderedDigest) -> None:
    """Render the target's own templates on ``rendered``; raises their TemplateError."""
    notifier(target).check(target, rendered)


def target_key(target: Target) -> str:
    """A stable id of a target within its alert that reveals nothing of its address."""
    address = notifier(target).address(target)
    return f"{target.kind}-{hashlib.sha256(address.encode()).hexdigest()[:12]}"


def target_label(target: Target) -> str:
    """How people are shown a target: no URL path or query, which may carry a token."""
    return notifier(target).label(target)
