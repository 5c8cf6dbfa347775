"""Webhook delivery against a real HTTP receiver on loopback: 2xx, 500, 429, 408, 404, a hang, a
dropped connection, nobody listening; the HMAC signature; custom body templates in the sandbox."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from peers import Receiver, free_port
from pydantic import ValidationError

from monitor.config import WebhookTarget
from monitor.deliver import DeliveryOutcome, DeliverySession, deliver
from monitor.deliver.webhook import default_body
from monitor.deliver.webhook import post as post_webhook
from monitor.errors import DeliveryError
from monitor.models import RenderedDigest

SECRET = "hook-secret"


def hook(url: str, **kwargs: Any) -> WebhookTarget:
    kwargs.setdefault("timeout", timedelta(seconds=2))
    return WebhookTarget(kind="webhook", url=url, **kwargs)


def post(target: WebhookTarget, rendered: RenderedDigest) -> DeliveryOutcome | DeliveryError:
    async def scenario() -> DeliveryOutcome | DeliveryError:
        async with DeliverySession(None) as session:
            try:
                return await deliver(session, target, rendered)
            except DeliveryError as exc:
                return exc

    return asyncio.run(scenario())


def test_posts_the_payload_signed_and_keyed(receiver: Receiver, rendered: RenderedDigest) -> None:
    outcome = post(hook(f"{receiver.url}/ok", secret=SECRET, headers={"X-Team": "desk"}), rendered)
    assert isinstance(outcome, DeliveryOutcome) and "HTTP 200" in outcome.summary
    [(path, headers, body)] = receiver.requests
    assert path == "/ok"
    assert body == default_body(rendered)
    assert json.loads(body) == rendered.payload
    assert headers["idempotency-key"] == rendered.digest_id
    assert headers["x-monitor-signature"] == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["content-type"] == "application/json" and headers["x-team"] == "desk"


def test_no_secret_no_signature(receiver: Receiver, rendered: RenderedDigest) -> None:
    assert isinstance(post(hook(f"{receiver.url}/accepted"), rendered), DeliveryOutcome)
    assert "x-monitor-signature" not in receiver.requests[0][1]


def test_headers_from_config_cannot_replace_the_key_or_signature(receiver: Receiver, rendered: RenderedDigest) -> None:
    target = hook(f"{receiver.url}/ok", secret=SECRET, headers={"Idempotency-Key": "x", "X-Monitor-Signature": "y"})
    post(target, rendered)
    headers = receiver.requests[0][1]
    assert headers["idempotency-key"] == rendered.digest_id and headers["x-monitor-signature"].startswith("sha256=")


@pytest.mark.parametrize(("mode", "retryable", "words"), [
    ("fail", True, "HTTP 500"),
    ("busy", True, "Retry-After: 30"),
    ("slow", True, "HTTP 408"),
    ("gone", False, "HTTP 404"),
    ("moved", False, "HTTP 301"),
    ("hang", True, "timed out"),
    ("close", True, "cannot reach webhook"),
])
def test_status_and_transport_failures(receiver: Receiver, rendered: RenderedDigest, mode: str, retryable: bool,
                                       words: str) -> None:
    error = post(hook(f"{receiver.url}/{mode}", timeout=timedelta(seconds=0.5)), rendered)
    assert isinstance(error, DeliveryError)
    assert error.retryable is retryable and words in str(error)


def test_nobody_listening_is_retryable(rendered: RenderedDigest) -> None:
    error = post(hook(f"http://127.0.0.1:{free_port()}/hook"), rendered)
    assert isinstance(error, DeliveryError) and error.retryable


def test_errors_never_show_the_url_path_or_query(rendered: RenderedDigest) -> None:
    # Slack-style URLs carry their secret in the path.
    error = post(hook(f"http://127.0.0.1:{free_port()}/services/T000/B000/XXXXsecret?token=abc"), rendered)
    assert "XXXXsecret" not in str(error) and "token=abc" not in str(error)


BAD_URLS = ["javascript:alert(1)", "ftp://example.org/x", "file:///etc/passwd", "gopher://x", "not a url",
            "http://", "http://[::1"]


@pytest.mark.parametrize("url", BAD_URLS)
def test_non_http_url_is_refused_at_load(url: str) -> None:
    with pytest.raises(ValidationError, match="expected an http"):
        hook(url)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.org/x", "file:///etc/passwd"])
def test_non_http_url_that_skipped_validation_is_still_permanent(rendered: RenderedDigest, url: str) -> None:
    # Defence in depth: a target built without validation is still never sent to a non-http URL.
    target = WebhookTarget.model_construct(kind="webhook", url=url, secret=None, timeout=timedelta(seconds=2),
                                           headers={}, template=None)
    error = post(target, rendered)
    assert isinstance(error, DeliveryError) and not error.retryable


def test_json_template_escapes_hostile_text_and_is_signed_as_sent(receiver: Receiver, tmp_path: Path) -> None:
    from peers import make_rendered

    rendered = make_rendered()
    items = [dict(i, title='Evil", "channel": "#general", "x": "{{ 7*7 }}') for i in rendered.payload["items"]]
    rendered = rendered.model_copy(update={"payload": dict(rendered.payload, items=items)})
    template = tmp_path / "slack.json"
    template.write_text('{"text": "{{ subject }}", "blocks": [{% for i in items %}{"type": "section", '
                        '"text": "{{ i.title }} <{{ i.url }}>"}{{ "," if not loop.last }}{% endfor %}],'
                        ' "ids": {{ items|map(attribute="id")|list|tojson }}}')
    outcome = post(hook(f"{receiver.url}/ok", secret=SECRET, template=template), rendered)
    assert isinstance(outcome, DeliveryOutcome)
    _, headers, body = receiver.requests[0]
    sent = json.loads(body)
    assert set(sent) == {"text", "blocks", "ids"}  # the title did not add a "channel" key
    assert sent["blocks"][0]["text"].startswith('Evil", "channel": "#general", "x": "{{ 7*7 }}')
    assert sent["ids"] == ["it-1", "it-0"]  # newest first
    assert headers["x-monitor-signature"] == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_text_template_for_ntfy_style_receivers(receiver: Receiver, rendered: RenderedDigest, tmp_path: Path) -> None:
    template = tmp_path / "ntfy.txt"
    template.write_text("{{ items|length }} new for {{ alert }}")
    post(hook(f"{receiver.url}/ok", template=template), rendered)
    _, headers, body = receiver.requests[0]
    assert body == b"2 new for test" and headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("text", [
    "{{ items.append(1) }}",
    "{{ payload.__class__.__mro__ }}",
    "{% for %}",
    '{"a": {{ items }}}',  # not JSON: the template forgot |tojson
])
def test_bad_templates_are_permanent_failures(receiver: Receiver, rendered: RenderedDigest, tmp_path: Path,
                                              text: str) -> None:
    template = tmp_path / "body.json"
    template.write_text(text)
    error = post(hook(f"{receiver.url}/ok", template=template), rendered)
    assert isinstance(error, DeliveryError) and not error.retryable and "body.json" in str(error)
    assert not receiver.requests


@pytest.mark.parametrize(("text", "reason"), [
    ('{"n": 1}\n{{ 1/0 }}', "ZeroDivisionError: division by zero"),
    ('{"n": 1}\n{{ items|length + "x" }}', "TypeError: unsupported operand"),
])
def test_a_template_raising_python_errors_is_a_permanent_failure_at_its_line(receiver: Receiver,
                                                                             rendered: RenderedDigest,
                                                                             tmp_path: Path, text: str,
                                                                             reason: str) -> None:
    # It was no DeliveryError at all: the lane logged a traceback and retried it as if the peer were down.
    template = tmp_path / "body.json"
    template.write_text(text)
    error = post(hook(f"{receiver.url}/ok", template=template), rendered)
    assert isinstance(error, DeliveryError) and not error.retryable
    assert f"body.json:2: webhook template: {reason}" in str(error)
    assert not receiver.requests


@pytest.mark.parametrize("host", ["169.254.169.254", "[fe80::1]", "[::ffff:169.254.169.254]", "[fd00:ec2::254]",
                                  "100.100.100.200", "0.0.0.0"])
def test_link_local_and_metadata_addresses_are_refused_before_any_connection(rendered: RenderedDigest,
                                                                             host: str) -> None:
    # The transport records instead of connecting: a test must never send traffic off loopback.
    attempted: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        attempted.append(request)
        return httpx.Response(200)

    async def scenario() -> DeliveryError | DeliveryOutcome:
        async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as client:
            try:
                return await post_webhook(client, hook(f"http://{host}/latest/meta-data/"), rendered)
            except DeliveryError as exc:
                return exc

    error = asyncio.run(scenario())
    assert isinstance(error, DeliveryError) and not error.retryable and "allow_private" in str(error)
    assert attempted == []


def test_allow_private_lets_a_meant_link_local_receiver_through(rendered: RenderedDigest) -> None:
    attempted: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        attempted.append(str(request.url))
        return httpx.Response(200)

    async def scenario() -> DeliveryOutcome:
        async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as client:
            return await post_webhook(client, hook("http://169.254.10.10/hook", allow_private=True), rendered)

    assert "HTTP 200" in str(asyncio.run(scenario()))
    assert attempted == ["http://169.254.10.10/hook"]


def test_loopback_and_private_receivers_stay_allowed(receiver: Receiver, rendered: RenderedDigest) -> None:
    assert isinstance(post(hook(f"{receiver.url}/ok"), rendered), DeliveryOutcome)
