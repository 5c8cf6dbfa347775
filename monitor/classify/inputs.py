"""What ``advisory-monitor classify`` reads: article files, feed files and stdin, as (title, text).

A text, Markdown or HTML file is one article: its first non-empty line is the title, the rest the
body, cleaned like any extracted item. A feed file (content starting with ``<?xml``, ``<rss``,
``<feed`` or ``<rdf``) gives one article per entry. Also home of the JSON shape and the terminal
rendering of a classification.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from monitor.errors import UsageError
from monitor.models import Classification
from monitor.sources.extract import Boilerplate, clean_lines, clean_text, html_to_text, looks_like_html

_FEED_STARTS = (b"<?xml", b"<rss", b"<feed", b"<rdf")


@dataclass(frozen=True, slots=True)
class Article:
    source: str
    title: str
    text: str


def _is_feed(data: bytes) -> bool:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not head.startswith(_FEED_STARTS):
        return False
    # An XHTML page also starts with <?xml: only a feed root makes it a feed.
    return head.startswith((b"<rss", b"<feed", b"<rdf")) or any(
        tag in data[:4096].lower() for tag in (b"<rss", b"<feed", b"<rdf:rdf", b"<rdf"))


def _split_article(raw: str, source: str, boilerplate: Boilerplate | None, html: bool) -> Article:
    if html:
        raw = html_to_text(raw)
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for i, line in enumerate(lines):
        if line.strip():
            title = " ".join(line.split())
            return Article(source, title, clean_lines(lines[i + 1:], boilerplate))
    return Article(source, "", "")


def split_article(raw: str, boilerplate: Boilerplate | None) -> tuple[str, str]:
    """(title, cleaned text) of a plain-text article, read as ``classify`` reads a text file."""
    article = _split_article(raw, "", boilerplate, False)
    return article.title, article.text


def _feed_articles(data: bytes, source: str, boilerplate: Boilerplate | None) -> Iterator[Article]:
    # The same hardened parse as the feed source (DOCTYPE screen, capped author fields, charset repair):
    # a feed file given to `classify` is as untrusted as one fetched by the daemon.
    from monitor.errors import SourceError
    from monitor.sources.feedparsing import parse_feed

    try:
        entries, _warnings = parse_feed(source, data)
    except SourceError as exc:
        raise UsageError(f"cannot read {source} as a feed: {exc.reason}") from exc
    for entry in entries:
        title = " ".join(html_to_text(entry.title).split()) if "<" in entry.title else " ".join(entry.title.split())
        body = entry.body
        text = html_to_text(body) if entry.body_is_html or looks_like_html(body) or "<" in body else body
        yield Article(source, title, clean_text(text, boilerplate))


def _read_bytes(path: str) -> bytes:
    # Plain file descriptors: pathlib's and open()'s layers cost twice the read itself on 3 KB files.
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_articles(path: str, boilerplate: Boilerplate | None) -> Iterator[Article]:
    """The articles in one path argument (``-`` is stdin)."""
    if path == "-":
        data = sys.stdin.buffer.read()
        source = "stdin"
        suffix = ""
    else:
        try:
            data = _read_bytes(path)
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
        source = path
        suffix = os.path.splitext(path)[1].lower()
    if _is_feed(data):
        yield from _feed_articles(data, source, boilerplate)
        return
    raw = data.decode("utf-8", errors="replace")
    html = suffix in (".html", ".htm") or (suffix not in (".txt", ".md") and looks_like_html(raw))
    yield _split_article(raw, source, boilerplate, html)


def _evidence(items: list[Any]) -> list[dict[str, Any]]:
    return [{"text": e.text, "start": e.start, "end": e.end} for e in items]


def analysis_json(article: Article, data: dict[str, Any]) -> dict[str, Any]:
    """The documented JSON object of one item from ``Engine.analyse`` (ARCHITECTURE.md, `classify`)."""
    return {"title": article.title, "source": article.source, "countries": data["countries"],
            "regions": data["regions"], "threats": data["threats"], "severity": data["severity"],
            "severity_evidence": data["severity_evidence"], "rules_version": data["rules_version"]}


def classification_json(article: Article, c: Classification) -> dict[str, Any]:
    """The documented JSON object of one classified item (ARCHITECTURE.md, `classify`)."""
    return {
        "title": article.title,
        "source": article.source,
        "countries": c.countries,
        "regions": [{"id": r.id, "name": r.name, "kind": r.kind, "country": r.country, "role": r.role,
                     "score": r.score, "evidence": _evidence(r.evidence)} for r in c.regions],
        "threats": [{"type": t.type, "score": t.score, "evidence": _evidence(t.evidence), "regions": t.regions}
                    for t in c.threats],
        "severity": c.severity.value,
        "severity_evidence": _evidence(c.severity_evidence),
        "rules_version": c.rules_version,
    }


_BOLD, _RESET = "\033[1m", "\033[0m"
_PLACE, _THREAT, _LEVEL = "\033[36m", "\033[31m", "\033[33m"


def render_text(article: Article, c: Classification, color: bool) -> str:
    """A person's view: the verdict, then the text with the evidence marked."""
    full = f"{article.title}\n\n{article.text}"
    marks: dict[int, tuple[int, str]] = {}
    for r in c.regions:
        for e in r.evidence:
            marks.setdefault(e.start, (e.end, _PLACE))
    for t in c.threats:
        for e in t.evidence:
            marks.setdefault(e.start, (e.end, _THREAT))
    for e in c.severity_evidence:
        marks.setdefault(e.start, (e.end, _LEVEL))
    out: list[str] = []
    pos = 0
    for start in sorted(marks):
        end, colour = marks[start]
        if start < pos:
            continue
        out.append(full[pos:start])
        out.append(f"{colour}{full[start:end]}{_RESET}" if color else f"[{full[start:end]}]")
        pos = end
    out.append(full[pos:])
    primary = [f"{r.name} ({r.id})" for r in c.regions if r.role == "primary"]
    mentioned = [r.id for r in c.regions if r.role == "mentioned"]
    threats = ", ".join(f"{t.type} {t.score:g}" for t in c.threats) or "none"
    head = [
        f"{_BOLD if color else ''}{article.source}: {article.title}{_RESET if color else ''}",
        f"  countries: {', '.join(c.countries) or '-'}",
        f"  primary:   {', '.join(primary) or '-'}",
        f"  mentioned: {', '.join(mentioned) or '-'}",
        f"  threats:   {threats}",
        f"  severity:  {c.severity.value}"
        + (f" ({', '.join(repr(e.text) for e in c.severity_evidence)})" if c.severity_evidence else ""),
        "",
    ]
    body = "".join(out)
    return "\n".join(head) + "\n".join("    " + line for line in body.split("\n")) + "\n"
