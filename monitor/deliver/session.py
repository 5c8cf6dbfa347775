"""The connections the deliveries of one cycle share: one SMTP pool and one HTTP client."""

from __future__ import annotations

from types import TracebackType

import httpx

from monitor.config import SmtpConfig
from monitor.deliver.email import SmtpPool
from monitor.errors import DeliveryError

DEFAULT_SENDER = SmtpConfig().sender


class DeliverySession:
    """Connections shared by the deliveries of one cycle. Use as ``async with DeliverySession(smtp)``.

    The SMTP pool reopens a connection the server dropped; both are made on first use only.
    """

    def __init__(self, smtp: SmtpConfig | None) -> None:
        self.smtp = smtp
        self._smtp: SmtpPool | None = None
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> DeliverySession:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    @property
    def sender(self) -> str:
        return self.smtp.sender if self.smtp is not None else DEFAULT_SENDER

    def smtp_connection(self) -> SmtpPool:
        if self.smtp is None:
            raise DeliveryError("an email target needs an smtp: section in the config", retryable=False,
                                hint="add smtp: {host: ..., port: ..., sender: ...} to the config")
        if self._smtp is None:
            self._smtp = SmtpPool(self.smtp, self.smtp.connections)
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
