"""Email delivery against a real aiosmtpd on loopback: plain, STARTTLS + AUTH, implicit TLS,
refused recipients, 4xx/5xx replies, a server that is down, and one connection reused."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from peers import PASSWORD, USER, Certificate, SmtpServer, free_port, make_rendered

from monitor.config import EmailTarget, SmtpConfig
from monitor.deliver import DeliveryOutcome, DeliverySession, deliver
from monitor.deliver.message import message_bytes, message_id
from monitor.errors import DeliveryError
from monitor.models import RenderedDigest

SENDER = "Advisory Monitor <monitor@localhost>"

# aiosmtpd 1.4 warns about its own internals on some Python versions; only those, only here.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:aiosmtpd")


def smtp(port: int, **kwargs: Any) -> SmtpConfig:
    kwargs.setdefault("timeout", timedelta(seconds=5))
    return SmtpConfig(host="127.0.0.1", port=port, sender=SENDER, **kwargs)


def target(*to: str) -> EmailTarget:
    return EmailTarget(kind="email", to=list(to))


async def send_all(config: SmtpConfig, to: EmailTarget, *digests: RenderedDigest) -> tuple[list[Any], int]:
    results: list[Any] = []
    async with DeliverySession(config) as session:
        for rendered in digests:
            try:
                results.append(await deliver(session, to, rendered))
            except DeliveryError as exc:
                results.append(exc)
        connects = session.smtp_connection().connects
    return results, connects


def parsed(server: SmtpServer, index: int = 0) -> email.message.EmailMessage:
    return email.message_from_bytes(server.sink.messages[index].content, policy=email.policy.default)


def test_plain_smtp_sends_multipart_alternative_keyed_by_digest(smtp_server: Any, rendered: RenderedDigest) -> None:
    server = smtp_server()
    [outcome], _ = asyncio.run(send_all(smtp(server.port), target("a@example.org", "B <b@example.org>"), rendered))
    assert isinstance(outcome, DeliveryOutcome) and not outcome.partial
    assert server.sink.messages[0].rcpt_tos == ["a@example.org", "b@example.org"]
    assert server.sink.messages[0].mail_from == "monitor@localhost"
    msg = parsed(server)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Message-ID"] == "<dg-test-0001@advisory-monitor>"
    assert msg["Subject"] == rendered.subject
    assert msg["From"] == SENDER and "b@example.org" in msg["To"]
    assert msg["Date"] == "Wed, 01 May 2024 14:00:00 +0000"
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == rendered.text
    assert msg.get_body(("html",)).get_content().replace("\r\n", "\n") == rendered.html


def test_message_is_the_same_bytes_on_every_retry(rendered: RenderedDigest) -> None:
    first = message_bytes(rendered, sender=SENDER, to=["a@example.org"])
    assert first == message_bytes(make_rendered(), sender=SENDER, to=["a@example.org"])
    assert message_id("not an atom/..") != message_id("other") and message_id("x y").endswith("@advisory-monitor>")


def test_one_connection_is_reused_across_digests(smtp_server: Any) -> None:
    server = smtp_server()
    digests = [make_rendered(f"dg-{i}") for i in range(5)]
    results, connects = asyncio.run(send_all(smtp(server.port), target("a@example.org"), *digests))
    assert all(isinstance(r, DeliveryOutcome) for r in results)
    assert connects == 1 and len(server.sink.messages) == 5
    assert len({parsed(server, i)["Message-ID"] for i in range(5)}) == 5


def test_reconnects_when_the_server_dropped_the_connection(smtp_server: Any) -> None:
    server = smtp_server()

    async def scenario() -> tuple[list[Any], int]:
        async with DeliverySession(smtp(server.port)) as session:
            first = await deliver(session, target("a@example.org"), make_rendered("dg-a"))
            await asyncio.to_thread(server.stop)  # drops the open connection
            await asyncio.to_thread(server.restart)
            second = await deliver(session, target("a@example.org"), make_rendered("dg-b"))
            return [first, second], session.smtp_connection().connects

    results, connects = asyncio.run(scenario())
    assert all(isinstance(r, DeliveryOutcome) for r in results)
    assert connects == 2 and len(server.sink.messages) == 2


def test_server_down_is_retryable(rendered: RenderedDigest) -> None:
    [error], _ = asyncio.run(send_all(smtp(free_port()), target("a@example.org"), rendered))
    assert isinstance(error, DeliveryError) and error.retryable
    assert "cannot reach SMTP server 127.0.0.1" in str(error)


def test_some_recipients_refused_is_partial(smtp_server: Any, rendered: RenderedDigest) -> None:
    server = smtp_server()
    [outcome], _ = asyncio.run(send_all(smtp(server.port), target("ok@example.org", "refuse5@example.org"), rendered))
    assert isinstance(outcome, DeliveryOutcome) and outcome.partial
    assert outcome.failures == {"refuse5@example.org": "550 5.1.1 no such user"}
    assert "1 of 2" in outcome.summary
    assert server.sink.messages[0].rcpt_tos == ["ok@example.org"]


@pytest.mark.parametrize(("to", "retryable"), [
    (("refuse5@example.org", "refuse5b@example.org"), False),
    (("refuse5@example.org", "refuse4@example.org"), True),
])
def test_all_recipients_refused_fails(smtp_server: Any, rendered: RenderedDigest, to: tuple[str, ...],
                                      retryable: bool) -> None:
    server = smtp_server()
    [error], _ = asyncio.run(send_all(smtp(server.port), target(*to), rendered))
    assert isinstance(error, DeliveryError) and error.retryable is retryable
    assert "refused every recipient" in str(error) and not server.sink.messages


@pytest.mark.parametrize(("reply", "retryable"), [("451 4.3.0 try again", True), ("554 5.6.0 rejected", False)])
def test_data_reply_decides_retry(smtp_server: Any, reply: str, retryable: bool) -> None:
    server = smtp_server()
    server.sink.data_reply = reply
    results, connects = asyncio.run(send_all(smtp(server.port), target("a@example.org"),
                                             make_rendered("dg-1"), make_rendered("dg-2")))
    assert all(isinstance(r, DeliveryError) and r.retryable is retryable for r in results)
    assert reply.split()[0] in str(results[0])
    assert connects == 1  # a refusal leaves the connection usable


def test_starttls_with_auth(smtp_server: Any, certificate: Certificate, rendered: RenderedDigest,
                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = smtp_server(auth=True, tls_context=certificate.server_context(), require_starttls=True)
    config = smtp(server.port, security="starttls", username=USER, password=PASSWORD, ca_file=certificate.cert)
    [outcome], _ = asyncio.run(send_all(config, target("a@example.org"), rendered))
    assert isinstance(outcome, DeliveryOutcome)
    assert server.sink.logins == [(USER, PASSWORD)] and len(server.sink.messages) == 1
    assert PASSWORD not in caplog.text and PASSWORD not in repr(config)


def test_wrong_password_is_permanent_and_never_shown(smtp_server: Any, certificate: Certificate,
                                                     rendered: RenderedDigest,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = smtp_server(auth=True, tls_context=certificate.server_context(), require_starttls=True)
    config = smtp(server.port, security="starttls", username=USER, password="wrong-guess-123",
                  ca_file=certificate.cert)
    [error], _ = asyncio.run(send_all(config, target("a@example.org"), rendered))
    assert isinstance(error, DeliveryError) and not error.retryable
    assert "rejected the login" in str(error) and "smtp.password" in str(error)
    assert "wrong-guess-123" not in str(error) and "wrong-guess-123" not in caplog.text


def test_implicit_tls(smtp_server: Any, certificate: Certificate, rendered: RenderedDigest) -> None:
    server = smtp_server(ssl_context=certificate.server_context())
    config = smtp(server.port, security="tls", ca_file=certificate.cert)
    [outcome], _ = asyncio.run(send_all(config, target("a@example.org"), rendered))
    assert isinstance(outcome, DeliveryOutcome) and len(server.sink.messages) == 1


def test_untrusted_certificate_is_permanent_with_a_hint(smtp_server: Any, certificate: Certificate,
                                                        rendered: RenderedDigest) -> None:
    server = smtp_server(ssl_context=certificate.server_context())
    [error], _ = asyncio.run(send_all(smtp(server.port, security="tls"), target("a@example.org"), rendered))
    assert isinstance(error, DeliveryError) and not error.retryable
    assert "smtp.ca_file" in str(error)


def test_auth_over_plain_connection_refused_by_server(smtp_server: Any, rendered: RenderedDigest) -> None:
    # aiosmtpd (like real servers) will not take AUTH before TLS; we must not silently send unauthenticated.
    server = smtp_server(auth=True)
    config = smtp(server.port, username=USER, password=PASSWORD)
    [error], _ = asyncio.run(send_all(config, target("a@example.org"), rendered))
    assert isinstance(error, DeliveryError) and not server.sink.messages


def test_email_target_without_smtp_config_is_permanent(rendered: RenderedDigest, tmp_path: Path) -> None:
    async def scenario() -> DeliveryError:
        async with DeliverySession(None) as session:
            with pytest.raises(DeliveryError) as info:
                await deliver(session, target("a@example.org"), rendered)
            return info.value

    error = asyncio.run(scenario())
    assert not error.retryable and "smtp" in str(error)


def test_a_login_against_a_server_without_auth_is_a_named_permanent_error(smtp_server: Any,
                                                                          rendered: RenderedDigest) -> None:
    server = smtp_server()  # plain SMTP, no AUTH offered
    config = smtp(server.port, username=USER, password="irrelevant-secret")
    [error], _ = asyncio.run(send_all(config, target("a@example.org"), rendered))
    assert isinstance(error, DeliveryError) and not error.retryable
    assert "no AUTH" in str(error) and "cannot reach" not in str(error)
    assert server.sink.messages == []
