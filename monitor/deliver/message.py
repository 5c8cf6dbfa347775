"""The digest as an RFC 5322 message: ``multipart/alternative`` text + HTML, keyed by the digest id.

Built byte-for-byte deterministically from a RenderedDigest (Date from the digest's creation time,
Message-ID and MIME boundary from its id and content), so a retried send and the file target's
``message.eml`` carry exactly the same message.
"""

from __future__ import annotations

import binascii
import email
import email.policy
import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from monitor.models import RenderedDigest

# RFC 5322 dot-atom-text, the left part of a msg-id.
_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
MESSAGE_ID_DOMAIN = "advisory-monitor"


def message_id(digest_id: str) -> str:
    """``<digest_id@advisory-monitor>``; an id that is not a valid dot-atom is hashed instead."""
    left = digest_id if _ATOM.match(digest_id) else hashlib.sha256(digest_id.encode()).hexdigest()[:32]
    return f"<{left}@{MESSAGE_ID_DOMAIN}>"


def _created(rendered: RenderedDigest) -> datetime:
    raw = rendered.payload.get("created_at")
    try:
        value = datetime.fromisoformat(str(raw))
    except ValueError:
        value = datetime(1970, 1, 1, tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _headers(rendered: RenderedDigest, sender: str, to: Sequence[str], boundary: str) -> bytes:
    # The email package folds and RFC 2047-encodes the headers; the bodies are encoded below, in C.
    head = EmailMessage(policy=email.policy.SMTP)
    head["Subject"] = rendered.subject
    head["From"] = sender
    if to:
        head["To"] = ", ".join(to)
    head["Date"] = format_datetime(_created(rendered))
    head["Message-ID"] = message_id(rendered.digest_id)
    # RFC 3834: auto-responders must not answer a machine-sent digest.
    head["Auto-Submitted"] = "auto-generated"
    head["X-Advisory-Digest"] = rendered.digest_id
    # Set by hand: given a multipart Content-Type, the generator would write a body of its own.
    mime = f'MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n\r\n'
    return head.as_bytes().rstrip(b"\r\n") + b"\r\n" + mime.encode()


def _part(subtype: str, text: str) -> bytes:
    body = binascii.b2a_qp(text.replace("\r\n", "\n").encode("utf-8"), istext=True)
    return (f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n").encode() + body.replace(b"\n", b"\r\n")


def message_bytes(rendered: RenderedDigest, *, sender: str, to: Sequence[str] = ()) -> bytes:
    """The digest as sent over SMTP: ``multipart/alternative``, quoted-printable parts, CRLF lines.

    Built by hand rather than by EmailMessage's generator, which costs more than rendering the
    digest. Quoted-printable writes every "=" as "=3D", so a boundary starting "=_" can never
    occur inside a part; being derived from the content, it is also the same on every retry.
    """
    seed = hashlib.sha256((rendered.digest_id + rendered.text + rendered.html).encode()).hexdigest()[:32]
    boundary = f"=_digest_{seed}"
    head = _headers(rendered, sender, to, boundary)
    sep = f"--{boundary}\r\n".encode()
    return b"".join([
        head, sep, _part("plain", rendered.text), b"\r\n", sep, _part("html", rendered.html), b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ])


def build_message(rendered: RenderedDigest, *, sender: str, to: Sequence[str] = ()) -> EmailMessage:
    """The same message parsed back, for callers that want headers and parts as objects."""
    parsed = email.message_from_bytes(message_bytes(rendered, sender=sender, to=to), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed
