"""Email delivery over SMTP (aiosmtplib): one connection reused across digests.

``security`` is ``none``, ``starttls`` or ``tls`` (implicit TLS). AUTH is used when a username and
password are configured; they come from the environment and are never logged. Refused recipients
are reported one by one: some refused is a partial delivery (the dispatcher sends those refused
for now, 4xx, a delivery of their own later), all refused a failure. Connection trouble, timeouts
and 4xx replies are retryable; 5xx replies are not.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Sequence
from email.utils import getaddresses, parseaddr

import aiosmtplib
from aiosmtplib.protocol import SMTPProtocol

from monitor.config import SmtpConfig
from monitor.deliver.message import message_bytes
from monitor.deliver.outcome import DeliveryOutcome
from monitor.errors import DeliveryError
from monitor.models import RenderedDigest

log = logging.getLogger(__name__)

_CLOSE_TIMEOUT = 2.0


def _retryable_code(code: int) -> bool:
    # 4xx is "try again later"; anything else the server answered is its final word.
    return 400 <= code < 500


class SmtpConnection:
    """One SMTP connection shared by the digests of a session; sends are serialised on it."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()
        self.connects = 0  # how many connections were opened (tests and the benchmark read it)

    @property
    def where(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    def _tls_context(self) -> ssl.SSLContext | None:
        if self.config.ca_file is None:
            return None  # aiosmtplib's default: the system's trusted CAs
        return ssl.create_default_context(cafile=str(self.config.ca_file))

    async def _connect(self) -> aiosmtplib.SMTP:
        cfg = self.config
        client = aiosmtplib.SMTP(
            hostname=cfg.host,
            port=cfg.port,
            timeout=cfg.timeout.total_seconds(),
            use_tls=cfg.security == "tls",
            # False, not None: "none" means no TLS at all, not aiosmtplib's opportunistic STARTTLS.
            start_tls=cfg.security == "starttls",
            tls_context=self._tls_context(),
        )
        await client.connect()
        try:
            if cfg.username and cfg.password is not None:
                # Asked of a server that offers no AUTH, aiosmtplib raises a bare SMTPException that
                # reads like an outage and would be retried for ever: it is a configuration mismatch.
                if client.is_ehlo_or_helo_needed:  # after STARTTLS the extensions are asked again
                    await client.ehlo()
                if not client.supports_extension("auth"):
                    raise DeliveryError(
                        f"SMTP server {self.where} offers no login (no AUTH) but smtp.username is set",
                        retryable=False,
                        hint="remove smtp.username/password, or set smtp.security: starttls (or tls) if the "
                             "server offers AUTH only over TLS")
                await client.login(cfg.username, cfg.password.get_secret_value())
        except BaseException:
            await _quit(client)  # a polite QUIT lets a TLS session close its socket too
            raise
        self.connects += 1
        log.debug("connected to SMTP server %s (security %s)", self.where, cfg.security)
        return client

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await _closed(client, client.close)

    async def close(self) -> None:
        async with self._lock:
            client, self._client = self._client, None
            if client is not None:
                await _quit(client)

    async def send(self, sender: str, recipients: Sequence[str], data: bytes) -> dict[str, str]:
        """Send one message; returns the refused recipients with the server's reply."""
        async with self._lock:
            reused = self._client is not None and self._client.is_connected
            try:
                return await self._send_once(sender, recipients, data)
            except aiosmtplib.SMTPServerDisconnected:
                await self._drop()
                if not reused:
                    raise
                # The server closed an idle connection between digests: one fresh connection.
                log.debug("SMTP server %s dropped the reused connection; reconnecting", self.where)
                return await self._send_once(sender, recipients, data)
            except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
                raise  # aiosmtplib reset the envelope; the connection stays usable
            except BaseException:
                await self._drop()  # a timeout or half-read reply leaves the session in an unknown state
                raise

    async def _send_once(self, sender: str, recipients: Sequence[str], data: bytes) -> dict[str, str]:
        if self._client is None or not self._client.is_connected:
            self._client = await self._connect()
        refused, _ = await self._client.sendmail(sender, list(recipients), data)
        return {rcpt: f"{reply.code} {reply.message}" for rcpt, reply in refused.items()}


class SmtpPool:
    """Up to ``size`` connections to one server, opened as concurrent sends need them and reused
    across digests: one connection serialises every send, a few overlap their round trips."""

    def __init__(self, config: SmtpConfig, size: int = 4) -> None:
        self.config = config
        self.size = max(1, size)
        self._all: list[SmtpConnection] = []
        self._idle: asyncio.Queue[SmtpConnection] = asyncio.Queue()

    @property
    def where(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    @property
    def connects(self) -> int:
        return sum(c.connects for c in self._all)

    async def send(self, sender: str, recipients: Sequence[str], data: bytes) -> dict[str, str]:
        if self._idle.empty() and len(self._all) < self.size:
            connection = SmtpConnection(self.config)
            self._all.append(connection)
        else:
            connection = await self._idle.get()
        try:
            return await connection.send(sender, recipients, data)
        finally:
            self._idle.put_nowait(connection)

    async def close(self) -> None:
        for connection in self._all:
            await connection.close()


async def _quit(client: aiosmtplib.SMTP) -> None:
    if not client.is_connected:
        return
    protocol = client.protocol
    try:
        await asyncio.wait_for(client.quit(), _CLOSE_TIMEOUT)
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()
    await _lost(protocol)


async def _closed(client: aiosmtplib.SMTP, close: Callable[[], object]) -> None:
    protocol = client.protocol
    close()
    await _lost(protocol)


async def _lost(protocol: SMTPProtocol | None) -> None:
    """Wait (bounded) until a closed connection's socket is really gone. A TLS connection closes
    after its close_notify round trip; a session that ends first (asyncio.run returning) would
    leave the socket to the garbage collector, which warns about it."""
    # The protocol drops its transport in connection_lost; aiosmtplib offers nothing to await.
    deadline = asyncio.get_running_loop().time() + _CLOSE_TIMEOUT
    while protocol is not None and protocol.transport is not None:
        if asyncio.get_running_loop().time() > deadline:
            return  # closing is best effort: the delivery's result is already known
        await asyncio.sleep(0.005)


def _error(exc: BaseException, where: str) -> DeliveryError:
    """Map an aiosmtplib/OS exception to a DeliveryError that says whether a retry can help."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        replies = {r.recipient: f"{r.code} {r.message}" for r in exc.recipients}
        # Nobody got it, so a retry sends no duplicate; worth it only if some refusal was temporary.
        return DeliveryError(
            f"SMTP server {where} refused every recipient: "
            + "; ".join(f"{rcpt}: {reply}" for rcpt, reply in replies.items()),
            retryable=any(_retryable_code(r.code) for r in exc.recipients),
            hint="check the alert's email addresses")
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return DeliveryError(f"SMTP server {where} rejected the login: {exc.code} {exc.message}",
                             retryable=_retryable_code(exc.code),
                             hint="check smtp.username and smtp.password (their environment variables)")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return DeliveryError(f"SMTP server {where} answered {exc.code} {exc.message}",
                             retryable=_retryable_code(exc.code))
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return DeliveryError(f"SMTP server {where}: {exc}", retryable=False,
                             hint="check smtp.security (none | starttls | tls) and smtp.port")
    certificate = exc if isinstance(exc, ssl.SSLCertVerificationError) else exc.__cause__
    if isinstance(certificate, ssl.SSLCertVerificationError):
        return DeliveryError(f"SMTP server {where}: TLS certificate not trusted: {certificate.verify_message}",
                             retryable=False, hint="set smtp.ca_file to the CA that signed the server's certificate")
    if isinstance(exc, TimeoutError):
        return DeliveryError(f"SMTP server {where} timed out", retryable=True)
    if isinstance(exc, aiosmtplib.SMTPException | OSError):
        return DeliveryError(f"cannot reach SMTP server {where}: {exc}", retryable=True,
                             hint="is the mail server running and smtp.host/port right?")
    raise exc


def envelope_sender(sender: str) -> str:
    return parseaddr(sender)[1] or sender


async def send(connection: SmtpConnection | SmtpPool, to: Sequence[str], rendered: RenderedDigest) -> DeliveryOutcome:
    """Send ``rendered`` to ``to`` over ``connection``; raises DeliveryError(retryable=...)."""
    sender = connection.config.sender
    recipients = [addr for _, addr in getaddresses(list(to)) if addr]
    if not recipients:
        raise DeliveryError(f"no valid recipient in {list(to)!r}", retryable=False)
    try:
        data = message_bytes(rendered, sender=sender, to=to)
        refused = await connection.send(envelope_sender(sender), recipients, data)
    except ValueError as exc:  # an address aiosmtplib cannot put in an envelope
        raise DeliveryError(f"bad email address: {exc}", retryable=False) from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise _error(exc, connection.where) from exc
    accepted = len(recipients) - len(refused)
    if refused:
        log.warning("digest %s: SMTP server %s refused %d of %d recipients: %s", rendered.digest_id,
                    connection.where, len(refused), len(recipients), "; ".join(f"{r}: {m}" for r, m in refused.items()))
    else:
        log.info("digest %s sent to %d recipients via %s", rendered.digest_id, accepted, connection.where)
    summary = f"emailed to {accepted} of {len(recipients)} recipients via {connection.where}"
    return DeliveryOutcome(summary, dict(refused))
