"""Extraction stage: raw entry bodies to clean article text.

HTML becomes text with one block per line; page furniture (related-links lists, comment
prompts, newsletter boxes) is cut with the markers in ``rules/boilerplate.yaml``; a line printed
twice (photo captions) is kept once; whitespace is normalised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import Problem, RuleError
from monitor.support.resources import shipped_rules_dir

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_ODD_SPACE = re.compile(r"[\t\u00a0\u2000-\u200b\u202f\u205f\u3000]")
# No marker or prompt line is longer than this; a user who needs longer ones can say so in YAML.
_MARKER_MAX_CHARS = 240
_BLOCK_TAGS = frozenset(
    [
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "figure",
        "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
        "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"
    ]
)
# Never article text: code, controls, and the page's furniture (menus, sidebars of other stories,
# site footers), which would otherwise be classified with the story.
_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "button",
              "select", "textarea", "input", "nav", "form", "aside", "footer")


@dataclass(frozen=True)
class Boilerplate:
    """Compiled furniture markers."""

    cut_phrases: frozenset[str]
    cut_regex: re.Pattern[str] | None
    drop_phrases: frozenset[str]
    drop_regex: re.Pattern[str] | None
    min_lines_before: int = 3
    repeated_line_min_chars: int = 30


def _line_key(line: str) -> str:
    return _SPACES.sub(" ", line).strip().casefold().rstrip(":").strip()


def _compile(patterns: Sequence[str], file: Path, where: str, problems: list[Problem]) -> list[str]:
    good = []
    for i, pattern in enumerate(patterns):
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append(Problem(str(file), None, None, f"{where}[{i}]", f"bad regex {pattern!r}: {exc}"))
            continue
        good.append(f"(?:{pattern})")
    return good


def load_boilerplate(rule_dirs: Iterable[Path] = ()) -> Boilerplate:
    """Shipped markers first, then each user folder's ``boilerplate.yaml`` adds to them.

    A user file may set ``replace: true`` to start from nothing instead.
    """
    cut_p: set[str] = set()
    drop_p: set[str] = set()
    cut_r: list[str] = []
    drop_r: list[str] = []
    settings: dict[str, int] = {"min_lines_before": 3, "repeated_line_min_chars": 30}
    problems: list[Problem] = []
    for folder in [shipped_rules_dir(), *rule_dirs]:
        file = Path(folder) / "boilerplate.yaml"
        if not file.is_file():
            continue
        try:
            data: Any = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else None
            problems.append(Problem(str(file), line, None, "", f"not valid YAML: {exc}"))
            continue
        if not isinstance(data, dict):
            problems.append(Problem(str(file), 1, None, "", "expected a mapping with cut_from/drop_lines"))
            continue
        if data.get("replace"):
            for collected in (cut_p, drop_p, cut_r, drop_r):
                collected.clear()
        for key in ("min_lines_before", "repeated_line_min_chars"):
            if key in data:
                settings[key] = int(data[key])
        for section, phrases, regexes in (("cut_from", cut_p, cut_r), ("drop_lines", drop_p, drop_r)):
            block = data.get(section) or {}
            phrases.update(_line_key(p) for p in block.get("phrases") or [])
            regexes.extend(_compile(block.get("regexes") or [], file, f"{section}.regexes", problems))
    if problems:
        raise RuleError(problems)
    return Boilerplate(
        cut_phrases=frozenset(cut_p),
        cut_regex=re.compile("|".join(cut_r)) if cut_r else None,
        drop_phrases=frozenset(drop_p),
        drop_regex=re.compile("|".join(drop_r)) if drop_r else None,
        **settings,
    )


def html_to_text(html: str) -> str:
    """Visible text of an HTML fragment or page, one block per line. Never executes anything."""
    import lxml.html
    from lxml import etree

    if not html.strip():
        return ""
    try:
        root = lxml.html.fromstring(html)
    except (etree.ParserError, ValueError):
        return html
    etree.strip_elements(root, *_DROP_TAGS, etree.Comment, etree.ProcessingInstruction, with_tail=False)
    parts: list[str] = []

    def walk(el: Any) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        block = tag in _BLOCK_TAGS
        if block:
            parts.append("\n")
        if el.text:
            parts.append(el.text)
        for child in el:
            walk(child)
        if block:
            parts.append("\n")
        if el.tail:
            parts.append(el.tail)

    walk(root)
    return "".join(parts)


def clean_text(text: str, boilerplate: Boilerplate | None = None) -> str:
    """Normalise whitespace, cut furniture, collapse repeated lines."""
    return clean_lines(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), boilerplate)


def clean_lines(lines: Iterable[str], boilerplate: Boilerplate | None = None) -> str:
    """``clean_text`` of text already split into lines (no carriage returns left in them)."""
    # This runs for every line of every article: names bound once, blank lines leave first.
    furniture = boilerplate or _NO_FURNITURE
    cut_phrases, drop_phrases, min_before = furniture.cut_phrases, furniture.drop_phrases, furniture.min_lines_before
    cut_match = furniture.cut_regex.match if furniture.cut_regex is not None else None
    drop_match = furniture.drop_regex.match if furniture.drop_regex is not None else None
    repeat_min = furniture.repeated_line_min_chars
    kept: list[str] = []
    seen_long: set[str] = set()
    body_lines = 0
    for raw in lines:
        line = raw.strip()
        # The regex only where a line holds something to fold.
        if line and ("  " in line or "\t" in line or (not line.isascii() and _ODD_SPACE.search(line))):
            line = _SPACES.sub(" ", line).strip()
        if not line:
            if kept and kept[-1]:
                kept.append("")
            continue
        key = line.casefold().rstrip(":").rstrip()
        # Furniture lines are short: long lines skip the marker tests.
        if len(key) <= _MARKER_MAX_CHARS:
            if body_lines >= min_before and (key in cut_phrases or (cut_match is not None and cut_match(key))):
                break
            if key in drop_phrases or (drop_match is not None and drop_match(key)):
                continue
        if len(line) >= repeat_min:
            if key in seen_long:
                continue
            seen_long.add(key)
        kept.append(line)
        body_lines += 1
    # Runs of blank lines were folded above, so one trailing blank at most is left.
    return "\n".join(kept).strip()


# Without markers nothing is cut or dropped, and repeated lines are all kept.
_NO_FURNITURE = Boilerplate(frozenset(), None, frozenset(), None, repeated_line_min_chars=1 << 62)


def extract(body: str, *, is_html: bool, boilerplate: Boilerplate | None) -> str:
    """Clean article text from a raw body."""
    text = html_to_text(body) if is_html else body
    return clean_text(text, boilerplate)


def looks_like_html(text: str) -> bool:
    head = text[:2048].lower()
    return "<p" in head or "<div" in head or "<br" in head or "<html" in head or "<a " in head
