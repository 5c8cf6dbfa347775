"""Delivery stage: one rendered digest to one target (email, webhook or file).

A DeliverySession holds what is worth reusing across the digests of a cycle: one SMTP connection
(reopened when the server dropped it) and one HTTP client. ``deliver`` returns a DeliveryOutcome
or raises DeliveryError whose ``retryable`` tells the outbox whether to try again with the same
digest id.
"""

from __future__ import annotations

from types import TracebackType

import httpx

from monitor.config import EmailTarget, FileTarget, SmtpConfig, WebhookTarget
from monitor.deliver import email, file, webhook
from monitor.deliver.outcome import DeliveryOutcome
from monitor.errors import DeliveryError
from monitor.models import RenderedDigest

__all__ = ["DeliveryError", "DeliveryOutcome", "DeliverySession", "deliver"]


DEFAULT_SENDER = SmtpConfig().sender


class DeliverySession:
    """Connections shared by the deliveries of one cycle. Use as ``async with DeliverySession(smtp)``."""

    def __init__(self, smtp: SmtpConfig | None) -> None:
        self.smtp = smtp
        self._smtp: email.SmtpPool | None = None
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> DeliverySession:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    @property
    def sender(self) -> str:
        return self.smtp.sender if self.smtp is not None else DEFAULT_SENDER

    def smtp_connection(self) -> email.SmtpPool:
        if self.smtp is None:
            raise DeliveryError("an email target needs an smtp: section in the config", retryable=False,
                                hint="add smtp: {host: ..., port: ..., sender: ...} to the config")
        if self._smtp is None:
            self._smtp = email.SmtpPool(self.smtp, self.smtp.connections)
        return self._smtp

    def http_client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        return self._http

    async def aclose(self) -> None:
        smtp, self._smtp = self._smtp, None
        http, self._http = self._http, None
        if smtp is not None:
            await smtp.close()
        if http is not None:
            await http.aclose()


async def deliver(session: DeliverySession, target: FileTarget | EmailTarget | WebhookTarget,
                  rendered: RenderedDigest) -> DeliveryOutcome:
    """Deliver one rendered digest to one target; raises DeliveryError(retryable=...)."""
    if isinstance(target, EmailTarget):
        return await email.send(session.smtp_connection(), target.to, rendered)
    if isinstance(target, WebhookTarget):
        return await webhook.post(session.http_client(), target, rendered)
    if isinstance(target, FileTarget):
        return await file.write(target, rendered, session.sender)
    raise DeliveryError(f"unknown delivery target {type(target).__name__}", retryable=False)
