"""Extraction stage: raw entry bodies to clean article text.

HTML becomes text with one block per line; page furniture (related-links lists, comment
prompts, newsletter boxes) is cut with the markers in ``rules/boilerplate.yaml``; a line printed
twice (photo captions) is kept once; whitespace is normalised.

Marker regexes from a user's folder run on RE2 (``monitor.support.userregex``): linear in the line
whatever the pattern. The shipped ones, ours and reviewed, run on ``re``, which is ten times quicker
on lines this short.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import Problem, RuleError
from monitor.support.resources import shipped_rules_dir
from monitor.support.userregex import (
    UserMatch,
    UserRegex,
    UserRegexError,
    compile_alternatives,
    compile_user_regex,
    shown,
)
from monitor.support.yamlpos import error_line, line_of, load_lined

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
    cut_regex: re.Pattern[str] | None  # the shipped markers' regexes
    drop_phrases: frozenset[str]
    drop_regex: re.Pattern[str] | None
    min_lines_before: int = 3
    repeated_line_min_chars: int = 30
    cut_user: UserRegex | None = None  # the user folders' regexes (RE2)
    drop_user: UserRegex | None = None
    headline_run_min_lines: int = 0


def _line_key(line: str) -> str:
    return _SPACES.sub(" ", line).strip().casefold().rstrip(":").strip()


def load_boilerplate(rule_dirs: Iterable[Path] = ()) -> Boilerplate:
    """Shipped markers first, then each user folder's ``boilerplate.yaml`` adds to them.

    A user file may set ``replace: true`` to start from nothing instead. Raises RuleError listing
    every problem (file:line) when a file is not valid.
    """
    boilerplate, problems = read_boilerplate(rule_dirs)
    if problems:
        raise RuleError(problems)
    return boilerplate


def read_boilerplate(rule_dirs: Iterable[Path] = ()) -> tuple[Boilerplate, list[Problem]]:
    """``load_boilerplate``, returning the problems found instead of raising them."""
    markers = _Markers()
    shipped = shipped_rules_dir()
    for folder in [shipped, *rule_dirs]:
        file = Path(folder) / "boilerplate.yaml"
        if file.is_file():
            markers.read(file, shipped=folder == shipped)
    return markers.compiled(), markers.problems


class _Markers:
    """The markers of the boilerplate files read so far, and the problems found in them."""

    def __init__(self) -> None:
        self.phrases: dict[str, set[str]] = {"cut_from": set(), "drop_lines": set()}
        # Regexes by section, the shipped ones' and the user folders'.
        self.regexes: dict[str, list[str]] = {"cut_from": [], "drop_lines": []}
        self.user_regexes: dict[str, list[str]] = {"cut_from": [], "drop_lines": []}
        self.user_file: dict[str, Path] = {}  # the last user file that added regexes to a section
        self.settings: dict[str, int] = {"min_lines_before": 3, "repeated_line_min_chars": 30,
                                         "headline_run_min_lines": 0}
        self.problems: list[Problem] = []

    def read(self, file: Path, *, shipped: bool = False) -> None:
        try:
            data: Any = load_lined(file.read_text(encoding="utf-8")).data or {}
        except yaml.YAMLError as exc:
            self.problems.append(Problem(str(file), error_line(exc), None, "", f"not valid YAML: {exc}"))
            return
        if not isinstance(data, dict):
            self.problems.append(Problem(str(file), 1, None, "", "expected a mapping with cut_from/drop_lines"))
            return
        if data.get("replace"):
            for phrase_set in self.phrases.values():
                phrase_set.clear()
            for pattern_list in [*self.regexes.values(), *self.user_regexes.values()]:
                pattern_list.clear()
        for key in self.settings:
            if key in data:
                try:
                    self.settings[key] = int(data[key])
                except (TypeError, ValueError):
                    self._problem(file, data, key, key, f"expected a whole number, got {data[key]!r}")
        for section in ("cut_from", "drop_lines"):
            block = data.get(section) or {}
            if not isinstance(block, dict):
                self._problem(file, data, section, section, "expected a mapping with phrases and regexes")
                continue
            _items, phrases = self._texts(file, block, section, "phrases")
            self.phrases[section].update(_line_key(phrase) for _i, phrase in phrases)
            patterns = self._patterns(file, block, section)
            if patterns and not shipped:
                self.user_file[section] = file
            (self.regexes if shipped else self.user_regexes)[section].extend(patterns)

    def _texts(self, file: Path, block: dict[str, Any], section: str, key: str) -> tuple[Any, list[tuple[int, str]]]:
        """(the list under ``block[key]``, its strings with their indexes); anything else is a problem."""
        items = block.get(key) or []
        if not isinstance(items, list):
            self._problem(file, block, key, f"{section}.{key}", "expected a list")
            return items, []
        good = []
        for i, item in enumerate(items):
            if isinstance(item, str):
                good.append((i, item))
            else:
                self._problem(file, items, i, f"{section}.{key}[{i}]", f"expected text, got {item!r}")
        return items, good

    def _patterns(self, file: Path, block: dict[str, Any], section: str) -> list[str]:
        """The valid regexes of ``block``: RE2 syntax in every file, the shipped one's included, so
        that any of them can be copied into a user's folder."""
        good = []
        items, patterns = self._texts(file, block, section, "regexes")
        for i, pattern in patterns:
            try:
                compile_user_regex(pattern)
            except UserRegexError as exc:
                self._problem(file, items, i, f"{section}.regexes[{i}]", f"bad regex {shown(pattern)}: {exc}")
                continue
            good.append(pattern)
        return good

    def _problem(self, file: Path, container: Any, key: Any, where: str, message: str) -> None:
        self.problems.append(Problem(str(file), line_of(container, key), None, where, message))

    def compiled(self) -> Boilerplate:
        return Boilerplate(
            cut_phrases=frozenset(self.phrases["cut_from"]),
            cut_regex=_shipped_regex(self.regexes["cut_from"]),
            drop_phrases=frozenset(self.phrases["drop_lines"]),
            drop_regex=_shipped_regex(self.regexes["drop_lines"]),
            cut_user=self._user_regex("cut_from"),
            drop_user=self._user_regex("drop_lines"),
            **self.settings,
        )

    def _user_regex(self, section: str) -> UserRegex | None:
        patterns = self.user_regexes[section]
        if not patterns:
            return None
        try:
            return compile_alternatives(patterns)
        except UserRegexError as exc:  # each compiled alone; together they can still clash
            self.problems.append(Problem(str(self.user_file[section]), None, None, f"{section}.regexes",
                                         f"the patterns do not combine: {exc}"))
            return None


def _shipped_regex(patterns: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None


def _either(shipped: re.Pattern[str] | None, user: UserRegex | None) -> Callable[[str], object] | None:
    """A line test by the shipped regex, the user's, or either; None when there is neither."""
    if shipped is None or user is None:
        one = shipped or user
        return one.match if one is not None else None
    shipped_match, user_match = shipped.match, user.match

    def either(key: str) -> re.Match[str] | UserMatch | None:
        return shipped_match(key) or user_match(key)

    return either


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
    cut_match = _either(furniture.cut_regex, furniture.cut_user)
    drop_match = _either(furniture.drop_regex, furniture.drop_user)
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
    if furniture.headline_run_min_lines:
        kept = _drop_headline_runs(kept, furniture.headline_run_min_lines, min_before)
    # Runs of blank lines were folded above, so one trailing blank at most is left.
    return "\n".join(kept).strip()


_HEADLINE_WORDS = (5, 24)  # a headline has this many words, at least and at most


def _is_headline(line: str) -> bool:
    """A line that reads like another story's headline: a few words, mostly capitalised, no full
    stop at the end and no list bullet ("At Least 53 Dead After Migrant Boat Capsizes Off Libya -")."""
    line = line.lstrip("'\"\u2018\u201c")
    if len(line) > 160 or not line or line.endswith((".", ":", ";", ",")) or not line[0].isalnum():
        return False
    words = [w for w in line.split() if w[0].isalpha()]
    if not _HEADLINE_WORDS[0] <= len(words) <= _HEADLINE_WORDS[1]:
        return False
    long_words = [w for w in words if len(w) > 3]
    return bool(long_words) and sum(w[0].isupper() for w in long_words) >= 0.75 * len(long_words)


def _drop_headline_runs(kept: list[str], run_min: int, min_before: int) -> list[str]:
    """Drop a run of ``run_min`` or more headline lines (blank lines aside) that ends the article,
    once it has begun: other stories' headlines under the story are page furniture. (A list of
    places inside an advisory goes on with text after it, or carries bullets.)"""
    end = len(kept)
    while end and not kept[end - 1]:
        end -= 1
    start = end
    lines = 0
    while start and (not kept[start - 1].strip("-*\u2022\u2013\u2014|") or _is_headline(kept[start - 1])):
        start -= 1
        lines += any(ch.isalpha() for ch in kept[start])
    body = sum(1 for line in kept[:start] if line)
    if lines >= run_min and body >= min_before:
        return kept[:start]
    return kept


# Without markers nothing is cut or dropped, and repeated lines are all kept.
_NO_FURNITURE = Boilerplate(frozenset(), None, frozenset(), None, repeated_line_min_chars=1 << 62)


def extract(body: str, *, is_html: bool, boilerplate: Boilerplate | None) -> str:
    """Clean article text from a raw body."""
    text = html_to_text(body) if is_html else body
    return clean_text(text, boilerplate)


def looks_like_html(text: str) -> bool:
    head = text[:2048].lower()
    return "<p" in head or "<div" in head or "<br" in head or "<html" in head or "<a " in head
