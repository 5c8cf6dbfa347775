"""Webhook delivery: POST the digest as JSON (or a custom body), keyed and signed.

Headers: ``Idempotency-Key: <digest_id>`` always, ``X-Monitor-Signature: sha256=<hex>`` (HMAC-SHA256
of the exact body bytes sent) when a secret is set. A custom body template (Slack, Teams, ntfy...)
runs in Jinja's immutable sandbox; in a ``.json`` template every ``{{ value }}`` is escaped as JSON
string content, so article text cannot break out of its string, and the result must parse as JSON.
2xx is done; 408, 429, 5xx, timeouts and connection errors are retryable; any other status is not.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from monitor.config import WebhookTarget
from monitor.deliver.addresses import refuse_forbidden
from monitor.deliver.outcome import DeliveryOutcome
from monitor.digest import located_error, safe_url, sanitize_html, shown_path
from monitor.errors import DeliveryError, TemplateError
from monitor.models import RenderedDigest

log = logging.getLogger(__name__)

USER_AGENT = "advisory-monitor"
_RETRYABLE_STATUS = frozenset({408, 429})
_ERROR_BODY_CHARS = 200


def default_body(rendered: RenderedDigest) -> bytes:
    """The payload of ARCHITECTURE.md as compact UTF-8 JSON: the same bytes on every retry."""
    return json.dumps(rendered.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _json_escape(value: Any) -> Any:
    # Output already made safe (|tojson returns Markup) passes; everything else becomes the inside
    # of a JSON string, so `"text": "{{ item.title }}"` stays one string whatever the title holds.
    if isinstance(value, Markup):
        return value
    if value is None:
        return ""
    return json.dumps(str(value), ensure_ascii=False)[1:-1]


def _is_json(name: str) -> bool:
    return name.lower().removesuffix(".j2").removesuffix(".jinja").endswith(".json")


@functools.lru_cache(maxsize=32)
def _environment(folder: Path, as_json: bool) -> jinja2.Environment:
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=False,
        finalize=_json_escape if as_json else None,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["sanitize_html"] = sanitize_html
    env.filters["safe_url"] = safe_url
    return env


def render_body(template: Path, rendered: RenderedDigest) -> bytes:
    """Render a custom body template; a broken template is a permanent DeliveryError naming it."""
    try:
        return body_of(template, rendered)
    except TemplateError as exc:
        raise DeliveryError(exc.located, retryable=False, hint=exc.hint) from exc


def body_of(template: Path, rendered: RenderedDigest) -> bytes:
    """The body a custom template makes of ``rendered``; raises a TemplateError at its file and line
    (checked on a sample digest when the config loads: monitor/dispatch/checks.py)."""
    as_json = _is_json(template.name)
    env = _environment(template.parent, as_json)
    context = {
        "payload": rendered.payload,
        "items": rendered.payload.get("items", []),
        "digest_id": rendered.digest_id,
        "alert": rendered.payload.get("alert"),
        "created_at": rendered.payload.get("created_at"),
        "subject": rendered.subject,
        "text": rendered.text,
    }
    try:
        body = env.get_template(template.name).render(context)
    except Exception as exc:  # a template is code: it raises what its expressions raise ({{ 1/0 }})
        raise located_error(exc, str(template), kind="webhook template: ") from exc
    if as_json:
        try:
            json.loads(body)
        except ValueError as exc:
            raise TemplateError(shown_path(template), None, f"webhook template did not produce valid JSON: {exc}",
                                hint="use |tojson for lists and objects; plain {{ values }} are JSON-escaped") from exc
    return body.encode("utf-8")


def _where(url: httpx.URL) -> str:
    # Only scheme, host and port: webhook URLs often carry their secret token in the path.
    return f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port else "")


async def post(client: httpx.AsyncClient, target: WebhookTarget, rendered: RenderedDigest) -> DeliveryOutcome:
    """POST ``rendered`` to ``target``; raises DeliveryError(retryable=...)."""
    try:
        url = httpx.URL(target.url)
    except httpx.InvalidURL as exc:
        raise DeliveryError(f"webhook URL is not valid: {exc}", retryable=False) from exc
    if url.scheme not in ("http", "https"):
        raise DeliveryError(f"webhook URL must be http(s), not {url.scheme!r}", retryable=False)
    where = _where(url)
    if not target.allow_private:
        await refuse_forbidden(url.host, url.port or (443 if url.scheme == "https" else 80))
    if target.template is not None:
        body = render_body(target.template, rendered)
        content_type = "application/json" if _is_json(target.template.name) else "text/plain; charset=utf-8"
    else:
        body, content_type = default_body(rendered), "application/json"
    headers = {"Content-Type": content_type, "User-Agent": USER_AGENT, **target.headers}
    # Set last: the receiver's dedup and verification rely on them, so config cannot override them.
    headers["Idempotency-Key"] = rendered.digest_id
    if target.secret is not None:
        headers["X-Monitor-Signature"] = signature(target.secret.get_secret_value(), body)
    seconds = target.timeout.total_seconds()
    try:
        # httpx's timeout bounds each phase; the outer one bounds the whole exchange, so a receiver
        # that trickles bytes cannot hold the delivery forever.
        async with asyncio.timeout(seconds):
            response = await client.post(url, content=body, headers=headers, timeout=seconds)
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise DeliveryError(f"webhook {where} timed out after {seconds:g} s", retryable=True) from exc
    except httpx.TransportError as exc:
        raise DeliveryError(f"cannot reach webhook {where}: {type(exc).__name__}: {exc}", retryable=True,
                            hint="is the receiver running and the url right?") from exc
    status = response.status_code
    if 200 <= status < 300:
        log.info("digest %s posted to webhook %s: %d", rendered.digest_id, where, status)
        return DeliveryOutcome(f"posted to {where}: HTTP {status}")
    said = response.text[:_ERROR_BODY_CHARS].strip()
    message = f"webhook {where} answered HTTP {status}" + (f": {said}" if said else "")
    retry_after = response.headers.get("Retry-After")
    if retry_after:
        message += f" (Retry-After: {retry_after})"
    retryable = status >= 500 or status in _RETRYABLE_STATUS
    hint = None if retryable else "the receiver refused the digest; check the webhook url, secret and headers"
    raise DeliveryError(message, retryable=retryable, hint=hint)
