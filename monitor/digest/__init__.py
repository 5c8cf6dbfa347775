"""Digest stage: when an alert's digest is due, and the digest rendered for delivery.

``is_due`` / ``quiet_until`` say when (schedule, quiet hours); ``render`` turns a Digest into a
RenderedDigest (subject, text, HTML, JSON payload), ``render_trip`` does the same for a
traveller, grouped by leg; ``render_sample`` renders an alert's templates on a sample digest (the
check made when the config loads). Whatever a template raises becomes a TemplateError at its file
and line (``located_error``). The sanitisers are public: the webhook's body templates use them too.
"""

from __future__ import annotations

from monitor.digest.render import located_error, render, render_template, shown_path, user_environment
from monitor.digest.sample import render_sample, sample_digest
from monitor.digest.sanitize import clean_text, safe_url, sanitize_html
from monitor.digest.schedule import is_due, next_due, quiet_until
from monitor.digest.snippets import Snippet, snippet
from monitor.digest.trip import render_trip
from monitor.digest.views import CountryGroup, ThreatGroup, entry_view, group, subject

__all__ = ["CountryGroup", "Snippet", "ThreatGroup", "clean_text", "entry_view", "group", "is_due",
           "located_error", "next_due", "quiet_until", "render", "render_sample", "render_template", "render_trip",
           "safe_url", "sample_digest", "sanitize_html", "shown_path", "snippet", "subject", "user_environment"]
