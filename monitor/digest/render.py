"""Digest stage: render one alert's digest as an email (subject, text, HTML) and a JSON payload.

Items are grouped by country, then by threat, highest severity first. Every value taken from an
article is untrusted: the text part never evaluates it, the HTML part autoescapes it, links are
kept only for http(s) URLs, and any feed HTML a template chooses to show goes through nh3 again
(``|sanitize_html``). User templates (``alert.template``, the config's ``templates:`` folder) run
in Jinja's immutable sandbox. Rendering reads no clock and no randomness: the same Digest renders
to the same bytes, so a retry re-sends exactly what the first attempt sent.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
import nh3
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from monitor.config import AlertRule
from monitor.errors import ConfigError, Problem
from monitor.models import Classification, Digest, DigestEntry, RenderedDigest, Severity
from monitor.support.resources import templates_dir

log = logging.getLogger(__name__)

TEXT_TEMPLATE = "digest.txt"
HTML_TEMPLATE = "digest.html"
_HTML_SUFFIXES = (".html", ".htm")

SNIPPET_CHARS = 320
_SNIPPET_LEAD = 120
_SUBJECT_PAIRS = 3
_SUBJECT_MAX = 160
_MAX_KEYWORD_HITS = 20

SEVERITY_COLORS = {
    "critical": "#8b0000",
    "high": "#c0392b",
    "medium": "#d68910",
    "low": "#2471a3",
    "none": "#7f8c8d",
}

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


# ---------------------------------------------------------------------------------------------
# Snippets: a window of the article around the matched evidence, the evidence marked.

@dataclass(frozen=True)
class Snippet:
    segments: tuple[tuple[str, bool], ...]  # (text, is_match) in reading order

    @property
    def plain(self) -> str:
        return "".join(text for text, _ in self.segments)

    def marked(self, left: str = "»", right: str = "«") -> str:
        return "".join(f"{left}{text}{right}" if hit else text for text, hit in self.segments)


def _relevant_spans(entry: DigestEntry, full: str) -> list[tuple[int, int]]:
    """Spans of the evidence that made this item match the alert; all evidence if none is tagged."""
    cls = entry.classification
    regions, threats = set(entry.matched_regions), set(entry.matched_threats)
    chosen = [e for h in cls.regions if h.id in regions or (h.country and h.country in regions) for e in h.evidence]
    chosen += [e for t in cls.threats if t.type in threats for e in t.evidence]
    if not chosen:
        chosen = [e for h in cls.regions for e in h.evidence] + [e for t in cls.threats for e in t.evidence]
    spans: list[tuple[int, int]] = []
    for ev in chosen:
        start, end = ev.start, ev.end
        # Offsets come from another stage; a span that does not hold its own text is dropped rather
        # than highlighting the wrong words.
        if 0 <= start < end <= len(full) and full[start:end].casefold() == ev.text.casefold():
            spans.append((start, end))
    folded = full.casefold()
    for word in entry.matched_keywords:
        needle = word.casefold()
        if not needle:
            continue
        at = folded.find(needle)
        hits = 0
        while at >= 0 and hits < _MAX_KEYWORD_HITS:
            spans.append((at, at + len(needle)))
            hits += 1
            at = folded.find(needle, at + len(needle))
    return _merge(spans)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(set(spans)):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def snippet(entry: DigestEntry, size: int = SNIPPET_CHARS) -> Snippet:
    """About ``size`` characters of the body around the first matched evidence in it."""
    item = entry.item
    full = item.title + "\n\n" + item.text
    body_start = len(item.title) + 2
    spans = [(max(s, body_start), e) for s, e in _relevant_spans(entry, full) if e > body_start]
    anchor = spans[0][0] if spans else body_start
    start = max(body_start, anchor - _SNIPPET_LEAD)
    if start > body_start:
        # Begin at a sentence if one starts shortly before the evidence, else at a word.
        cut = max(full.rfind(". ", start, anchor), full.rfind("\n", start, anchor))
        start = cut + 1 if cut >= 0 else full.find(" ", start, anchor) + 1 or start
    end = min(len(full), start + size)
    end = max(end, min(len(full), spans[0][1])) if spans else end
    if end < len(full):
        # End at a word, never inside the first evidence.
        space = full.rfind(" ", start, end)
        end = space if space > (spans[0][1] if spans else start) else end
    segments: list[tuple[str, bool]] = []
    at = start
    for s, e in spans:
        if s >= end:
            break
        if s > at:
            segments.append((full[at:s], False))
        segments.append((full[max(s, at):min(e, end)], True))
        at = min(e, end)
    if at < end:
        segments.append((full[at:end], False))
    tidy = [(_SPACE.sub(" ", clean_text(text)), hit) for text, hit in segments]
    if tidy:
        tidy[0] = (tidy[0][0].lstrip(), tidy[0][1])
        tidy[-1] = (tidy[-1][0].rstrip(), tidy[-1][1])
        if start > body_start:
            tidy.insert(0, ("…", False))
        if end < len(full):
            tidy.append(("…", False))
    return Snippet(tuple((t, h) for t, h in tidy if t))


def wrap(text: str, width: int = 74, indent: str = "  ") -> str:
    """Greedy word wrap at spaces only (never inside a word or at a hyphen); textwrap costs more
    than the rest of rendering put together."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        if not word:
            continue
        if line and len(line) + 1 + len(word) > width - len(indent):
            lines.append(indent + line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(indent + line)
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Grouping: country -> threat -> entries, highest severity first.

@dataclass
class ThreatGroup:
    type: str
    label: str
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def severity(self) -> str:
        return max((e["severity"] for e in self.entries), key=lambda s: Severity(s).rank, default="none")


@dataclass
class CountryGroup:
    code: str | None
    name: str
    threats: list[ThreatGroup] = field(default_factory=list)

    @property
    def severity(self) -> str:
        return max((t.severity for t in self.threats), key=lambda s: Severity(s).rank, default="none")

    @property
    def count(self) -> int:
        return sum(len(t.entries) for t in self.threats)


def threat_label(threat: str) -> str:
    return threat.replace("_", " ")


@functools.lru_cache(maxsize=512)
def _country_name_lookup(code: str) -> str:
    import pycountry  # loads its tables on first use; most names come from the classification

    found = pycountry.countries.get(alpha_2=code.upper())
    return str(getattr(found, "common_name", None) or found.name) if found else code


def _country_name(code: str, cls: Classification) -> str:
    for hit in cls.regions:
        if hit.kind == "country" and hit.id == code:
            return hit.name
    return _country_name_lookup(code)


def _group_country(entry: DigestEntry) -> str | None:
    cls, matched = entry.classification, set(entry.matched_regions)
    for code in cls.countries:
        if code in matched or any(h.country == code and h.id in matched for h in cls.regions):
            return code
    return cls.countries[0] if cls.countries else None


def _group_threat(entry: DigestEntry) -> str:
    ranked = sorted(entry.classification.threats, key=lambda t: (-t.score, t.type))
    for hit in ranked:
        if hit.type in entry.matched_threats:
            return hit.type
    if entry.matched_threats:
        return sorted(entry.matched_threats)[0]
    return ranked[0].type if ranked else "other"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return _aware(value).astimezone(UTC).isoformat() if value else None


def _local(value: datetime | None, tz: ZoneInfo) -> str | None:
    return _aware(value).astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if value else None


def _zone(digest: Digest, alert: AlertRule) -> ZoneInfo:
    # The timezone captured in the digest when it was built wins (a retry renders the same times);
    # a digest carrying the default UTC falls back to the alert's.
    name = digest.timezone if digest.timezone and digest.timezone != "UTC" else alert.timezone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("alert %s: unknown timezone %r, showing times in UTC", alert.name, name)
        return ZoneInfo("UTC")


def _why(entry: DigestEntry, alert: str) -> str:
    if entry.why:
        return clean_text(_SPACE.sub(" ", entry.why)).strip()
    parts = [f"alert '{alert}'"]
    if entry.matched_regions:
        parts.append("regions " + ", ".join(entry.matched_regions))
    if entry.matched_threats:
        parts.append("threats " + ", ".join(threat_label(t) for t in entry.matched_threats))
    if entry.matched_keywords:
        parts.append("words " + ", ".join(f"'{k}'" for k in entry.matched_keywords))
    return "Matched " + "; ".join(parts)


def _official_view(item: Any) -> dict[str, Any] | None:
    """Issuer, level badge and, for a level change, "old -> new" of an official item."""
    adv = item.extra.advisory
    if adv is None or adv.level is None:
        return None
    issuer = clean_text(adv.issuer or item.source)
    view: dict[str, Any] = {
        "issuer": issuer, "level": adv.level, "label": clean_text(adv.label), "parts": adv.parts,
        "badge": f"{issuer} level {adv.level}{' (parts)' if adv.parts else ''}", "change": None,
    }
    change = item.extra.advisory_change
    if change is not None:
        view["change"] = f"{change.change}: level {change.old} -> {change.new}"
        if change.old_label and change.label:
            view["change"] += f" ({clean_text(change.old_label)} -> {clean_text(change.label)})"
    return view


def _entry_view(entry: DigestEntry, alert: str, tz: ZoneInfo) -> dict[str, Any]:
    item, cls = entry.item, entry.classification
    snip = snippet(entry)
    matched = set(entry.matched_regions)
    hits = sorted(cls.regions, key=lambda h: (h.role != "primary", h.id not in matched, -h.score, h.id))
    shown = [h for h in hits if h.role == "primary" or h.id in matched or (h.country in matched)]
    threats = sorted(cls.threats, key=lambda t: (t.type not in entry.matched_threats, -t.score, t.type))
    severity = cls.severity.value
    official = _official_view(item)
    extra_payload: dict[str, Any] = {}
    if official is not None:
        extra_payload["advisory"] = {k: official[k] for k in ("issuer", "level", "label", "parts")}
        if item.extra.advisory_change is not None:
            extra_payload["advisory_change"] = item.extra.advisory_change.to_json()
    return {
        "id": item.id,
        "official": official,
        "title": clean_text(_SPACE.sub(" ", item.title)).strip() or "(untitled)",
        "url": safe_url(item.url),
        "source": clean_text(item.source),
        "published": _local(item.published, tz),
        "first_seen": _local(item.first_seen, tz),
        "severity": severity,
        "severity_color": SEVERITY_COLORS.get(severity, SEVERITY_COLORS["none"]),
        "countries": [_country_name(c, cls) for c in cls.countries],
        "regions": list(dict.fromkeys(clean_text(h.name) for h in shown)),
        "threats": [threat_label(t.type) for t in threats],
        "snippet": snip.segments,
        "snippet_text": wrap(snip.marked()),
        "summary": snip.plain,
        "why": _why(entry, alert),
        # For user templates that want more; every string in them is still autoescaped.
        "item": item,
        "classification": cls,
        "_payload": {
            "id": item.id,
            "title": item.title,
            "url": safe_url(item.url),
            "source": item.source,
            "published": _iso(item.published),
            "countries": list(cls.countries),
            "regions": [{"id": h.id, "name": h.name, "kind": h.kind, "country": h.country, "role": h.role}
                        for h in hits],
            "threats": [{"type": t.type, "score": t.score} for t in threats],
            "severity": severity,
            "summary": snip.plain,
            **extra_payload,
        },
    }


def group(digest: Digest, alert: AlertRule, tz: ZoneInfo) -> list[CountryGroup]:
    """The digest's entries as country groups of threat groups, most severe first, stable order."""
    def order(entry: DigestEntry) -> tuple[int, float, str]:
        when = _aware(entry.item.published or entry.item.first_seen)
        return (-entry.classification.severity.rank, -when.timestamp(), entry.item.id)

    countries: dict[str | None, CountryGroup] = {}
    for entry in sorted(digest.entries, key=order):
        code = _group_country(entry)
        country = countries.get(code)
        if country is None:
            name = _country_name(code, entry.classification) if code else "No country named"
            country = countries[code] = CountryGroup(code, name)
        kind = _group_threat(entry)
        threat = next((t for t in country.threats if t.type == kind), None)
        if threat is None:
            threat = ThreatGroup(kind, threat_label(kind))
            country.threats.append(threat)
        threat.entries.append(_entry_view(entry, alert.name, tz))
    for country in countries.values():
        country.threats.sort(key=lambda t: (-Severity(t.severity).rank, -len(t.entries), t.type))
    return sorted(countries.values(), key=lambda c: (-Severity(c.severity).rank, -c.count, c.name))


def subject(alert: str, groups: list[CountryGroup], count: int) -> str:
    """``[alert] 3 new: terrorism in Azerbaijan, armed conflict in Armenia, ...``"""
    pairs = [f"{t.label} in {c.name}" if c.code else t.label for c in groups for t in c.threats]
    head = f"[{_SPACE.sub(' ', alert).strip()}] {count} new"
    if not pairs:
        return head
    text = f"{head}: {', '.join(pairs[:_SUBJECT_PAIRS])}"
    if len(pairs) > _SUBJECT_PAIRS:
        text += ", ..."
    if len(text) > _SUBJECT_MAX:
        text = text[: _SUBJECT_MAX - 4].rsplit(" ", 1)[0].rstrip(",") + " ..."
    return clean_text(_SPACE.sub(" ", text))


# ---------------------------------------------------------------------------------------------
# Templates

def _finalize_env(env: jinja2.Environment) -> jinja2.Environment:
    env.filters["sanitize_html"] = sanitize_html
    env.filters["safe_url"] = safe_url
    return env


_ENV_OPTIONS: dict[str, Any] = {
    # .txt (the text part) is plain text; anything not known to be plain text is escaped.
    "autoescape": jinja2.select_autoescape(enabled_extensions=("html", "htm", "xml"),
                                           disabled_extensions=("txt", "text"),
                                           default_for_string=True, default=True),
    "trim_blocks": True,
    "lstrip_blocks": True,
    "keep_trailing_newline": True,
    "undefined": jinja2.StrictUndefined,
}


@functools.lru_cache(maxsize=1)
def _shipped_env() -> jinja2.Environment:
    # The shipped templates are our own code: a plain environment, faster than the sandbox.
    return _finalize_env(jinja2.Environment(loader=jinja2.FileSystemLoader(templates_dir()), **_ENV_OPTIONS))


@functools.lru_cache(maxsize=64)
def _user_env(folders: tuple[Path, ...]) -> jinja2.Environment:
    loaders = [jinja2.FileSystemLoader(str(f)) for f in folders]
    loaders.append(jinja2.FileSystemLoader(templates_dir()))
    return _finalize_env(ImmutableSandboxedEnvironment(loader=jinja2.ChoiceLoader(loaders), **_ENV_OPTIONS))


def user_environment(folders: tuple[Path, ...] = ()) -> jinja2.Environment:
    """A sandboxed environment searching ``folders`` then the shipped templates (webhook bodies too)."""
    return _user_env(folders)


def _choose(alert: AlertRule, templates: Path | None) -> tuple[jinja2.Environment, str, str]:
    folders: list[Path] = []
    text_name, html_name = TEXT_TEMPLATE, HTML_TEMPLATE
    if alert.template is not None:
        if alert.template.is_file():
            # One file overrides the part its suffix names; the other part stays the default.
            folders.append(alert.template.parent)
            if alert.template.suffix.lower() in _HTML_SUFFIXES:
                html_name = alert.template.name
            else:
                text_name = alert.template.name
        elif alert.template.is_dir():
            folders.append(alert.template)
        else:
            raise _template_error(alert.template, None, "template not found")
    if templates is not None:
        if not templates.is_dir():
            raise _template_error(templates, None, "templates folder not found")
        folders.append(templates)
    if not folders:
        return _shipped_env(), text_name, html_name
    return _user_env(tuple(folders)), text_name, html_name


def _template_error(where: Path | str | None, line: int | None, message: str) -> ConfigError:
    return ConfigError([Problem(str(where or "<template>"), line, None, "template", message)],
                       hint="fix the digest template; the shipped ones are in monitor/templates/")


def render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    """Render one template; a broken or forbidden template becomes a located ConfigError."""
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise _template_error(exc.filename or name, exc.lineno, exc.message or str(exc)) from exc
    except jinja2.TemplateNotFound as exc:
        raise _template_error(name, None, f"template not found: {exc.name}") from exc
    except jinja2.TemplateError as exc:  # UndefinedError, SecurityError (the sandbox said no)
        raise _template_error(name, None, f"{type(exc).__name__}: {exc}") from exc


def payload(digest: Digest, groups: list[CountryGroup]) -> dict[str, Any]:
    """The webhook/file JSON exactly as ARCHITECTURE.md names it, items in digest order."""
    return {
        "digest_id": digest.id,
        "alert": digest.alert,
        "created_at": _iso(digest.created_at),
        "items": [e["_payload"] for c in groups for t in c.threats for e in t.entries],
    }


def render(digest: Digest, alert: AlertRule, *, templates: Path | None = None) -> RenderedDigest:
    """Render ``digest`` for ``alert``: subject, text and HTML parts, and the JSON payload."""
    tz = _zone(digest, alert)
    groups = group(digest, alert, tz)
    count = sum(c.count for c in groups)
    title = subject(alert.name, groups, count)
    context = {
        "subject": title,
        "alert": alert.name,
        "digest_id": digest.id,
        "created": _local(digest.created_at, tz),
        "timezone": tz.key,
        "count": count,
        "groups": groups,
        "digest": digest,
    }
    env, text_name, html_name = _choose(alert, templates)
    return RenderedDigest(
        digest_id=digest.id,
        subject=title,
        text=render_template(env, text_name, context),
        html=render_template(env, html_name, context),
        payload=payload(digest, groups),
    )
