"""Secrets inside URLs: the userinfo (``user:password@``) and credential-like query values
(``?token=``, ``&api_key=``, ``sig=``...) replaced wherever a URL is shown, logged or stored.

``redact_url`` rewrites one URL; ``redact_text`` finds the URLs in free text (an error message, a
third-party library's log line) and rewrites each. Both are idempotent.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

# Query keys whose values are credentials in practice (webhook keys, API tokens, signed URLs).
_SECRET_KEY = re.compile(
    r"(?:^|[_\-.])(?:token|key|secret|password|passwd|pass|pwd|auth|authorization|signature|sig|"
    r"credential|credentials|session|sid|code|access|apikey|api)(?:$|[_\-.])|^x-amz-|^(?:apikey|accesstoken)$",
    re.IGNORECASE)
# A URL in free text: a scheme, then anything up to whitespace, a quote or a bracket that closes it.
_URL_IN_TEXT = re.compile(r"""\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'"<>`\])}]+""")


def is_secret_key(name: str) -> bool:
    return bool(_SECRET_KEY.search(name))


def redact_url(url: str) -> str:
    """The URL with its password (and user name's secret part) and credential-like query values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _mask_userinfo(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        # The user name stays (it says which account); everything after it is the secret.
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo or user else f"{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_key(k) for k, _ in pairs):
            query = urlencode([(k, MASK if is_secret_key(k) else v) for k, v in pairs], safe="*")
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """Every URL found in the text redacted; the rest of the text as it was."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group()), text)


def _mask_userinfo(url: str) -> str:
    head, sep, rest = url.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        user = rest.split("@", 1)[0].split(":", 1)[0]
        return f"{head}://{user}:{MASK}@{rest.split('@', 1)[1]}"
    return url
