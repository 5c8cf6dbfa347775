"""Digest stage: article values made safe to show, shared by rendering and the webhook's body templates.

Every value taken from an article is untrusted: text loses the invisible characters that could
hide or reorder what a reader sees, links are kept only for http(s) URLs, and feed HTML goes
through nh3 with a small allowlist.
"""

from __future__ import annotations

import re

import nh3
from markupsafe import Markup

# C0/C1 controls (but tab and newline) and bidi overrides: invisible in a mail client, yet they can
# reorder or hide what a reader sees, so article text loses them before it is shown anywhere.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SPACE = re.compile(r"\s+")
_HTTP = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)

# Feed HTML that a template keeps is re-sanitised with this allowlist: text formatting and http(s)
# links only; no images (remote images are trackers), no styles, no scripts.
_SAFE_TAGS = {"a", "b", "strong", "i", "em", "u", "p", "br", "ul", "ol", "li", "blockquote", "code", "pre",
              "h3", "h4", "mark", "span"}


def sanitize_html(html: str | None) -> Markup:
    """Feed HTML made safe to embed in a digest: nh3 with a small allowlist, http(s) links only."""
    if not html:
        return Markup("")
    cleaned = nh3.clean(str(html), tags=_SAFE_TAGS, attributes={"a": {"href", "title"}},
                        url_schemes={"http", "https"}, link_rel="noopener noreferrer")
    return Markup(cleaned)


def clean_text(value: str | None) -> str:
    """Article text for display: invisible controls removed; everything else kept literally."""
    return _INVISIBLE.sub("", value) if value else ""


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link, else None: ``javascript:`` and friends never link."""
    if url and _HTTP.match(url.strip()):
        return url.strip()
    return None


def one_line(text: str) -> str:
    """Every run of whitespace (newlines included) as one space."""
    return _SPACE.sub(" ", text)
