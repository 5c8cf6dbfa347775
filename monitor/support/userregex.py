"""Regular expressions written by users (rule folders), run by RE2 in time linear in the text.

Python's ``re`` backtracks: ``(a+)+$`` on forty ``a`` and a ``!`` would run for longer than anyone
waits, holding the GIL, and with it every thread of the daemon, all the while. RE2 (google-re2)
never backtracks; what it cannot run in linear time (backreferences, lookaround) it refuses when the
pattern is compiled, so a rule check can name the pattern and its line.

Patterns keep Python's meaning where RE2 would differ quietly: ``\\w``, ``\\d`` and ``\\s`` (and
their negations) match any script's letters, digits and spaces, as in ``re``, not only ASCII ones;
``\\Z`` is the end of the text; ``\\uXXXX`` is a code point. ``\\b`` and ``\\B`` are RE2's, between
ASCII word characters and the rest.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import re2

# What every user pattern is told when RE2 refuses it.
RE2_SYNTAX = ("expected RE2 syntax, which runs in linear time: no backreferences (\\1, (?P=name)) "
              "and no lookaround ((?=...), (?!...), (?<=...), (?<!...))")

# Python's str classes in RE2's terms, outside [...] and inside it.
_OUTSIDE = {
    "w": r"[\pL\pN_]", "W": r"[^\pL\pN_]",
    "d": r"\p{Nd}", "D": r"\P{Nd}",
    "s": r"[\s\v\x1c-\x1f\x{85}\p{Z}]", "S": r"[^\s\v\x1c-\x1f\x{85}\p{Z}]",
    "Z": r"\z",
}
_INSIDE = {"w": r"\pL\pN_", "d": r"\p{Nd}", "D": r"\P{Nd}", "s": r"\s\v\x1c-\x1f\x{85}\p{Z}"}


class UserRegexError(ValueError):
    """A pattern RE2 cannot compile; the message says why and what is expected."""


class UserMatch(Protocol):
    @property
    def lastgroup(self) -> str | None: ...

    def start(self, group: int = 0, /) -> int: ...

    def end(self, group: int = 0, /) -> int: ...


class UserRegex(Protocol):
    """What the stages call on a compiled pattern (``re.Pattern`` has the same methods)."""

    @property
    def pattern(self) -> str: ...

    def match(self, text: str, /) -> UserMatch | None: ...

    def search(self, text: str, /) -> UserMatch | None: ...

    def finditer(self, text: str, /) -> Iterator[UserMatch]: ...


def compile_user_regex(pattern: str, *, ignore_case: bool = False) -> UserRegex:
    """``pattern`` compiled by RE2. Raises UserRegexError naming what RE2 refused."""
    return _compile(_python_classes(pattern), ignore_case)


def compile_alternatives(patterns: Sequence[str], *, names: Sequence[str] | None = None,
                         ignore_case: bool = False) -> UserRegex:
    """One RE2 pattern matching any of ``patterns``, each in a group of its own: named ``names[i]``
    when names are given (``match.lastgroup`` then says which matched), else not capturing. Compile
    each alone first (``compile_user_regex``), so that an error names the pattern at fault."""
    groups = [f"(?P<{names[i]}>" if names is not None else "(?:" for i in range(len(patterns))]
    return _compile("|".join(f"{group}{_python_classes(p)})" for group, p in zip(groups, patterns, strict=True)),
                    ignore_case)


def shown(pattern: str) -> str:
    """A pattern quoted as written (``repr`` would double each backslash), or its repr when it
    holds a control character."""
    return f"'{pattern}'" if pattern.isprintable() else repr(pattern)


def _compile(translated: str, ignore_case: bool) -> UserRegex:
    options = re2.Options()
    options.log_errors = False  # RE2 would write its complaint to stderr; it is raised instead
    options.case_sensitive = not ignore_case
    try:
        compiled: Any = re2.compile(translated, options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise UserRegexError(f"{reason}; {RE2_SYNTAX}") from exc
    result: UserRegex = compiled
    return result


def _python_classes(pattern: str) -> str:
    """``pattern`` with ``\\w``, ``\\d``, ``\\s``, ``\\Z`` and ``\\u`` escapes spelled as RE2 reads
    them with Python's meaning; everything else as written."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 == n:  # combined with others it would escape the group's closing parenthesis
                raise UserRegexError(f"trailing \\; {RE2_SYNTAX}")
            i = _escape(pattern, i, in_class, out)
            continue
        if in_class:
            if ch == "]":
                in_class = False
            elif pattern.startswith("[:", i) and ":]" in pattern[i + 2:]:
                end = pattern.index(":]", i + 2) + 2  # [:alpha:] as a whole
                out.append(pattern[i:end])
                i = end
                continue
        elif ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            # A ']' first in the class (after a '^') is a literal, not its end.
            if pattern.startswith("^", i):
                out.append("^")
                i += 1
            if pattern.startswith("]", i):
                out.append("]")
                i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _escape(pattern: str, i: int, in_class: bool, out: list[str]) -> int:
    """Append the escape at ``pattern[i]`` (a backslash) as RE2 should read it; the index after it."""
    ch = pattern[i + 1]
    if ch == "Q":  # \Q...\E is literal text: nothing in it is an escape
        end = pattern.find("\\E", i + 2)
        if end < 0:  # literal to the end of this pattern, not of the ones combined after it
            out.append(pattern[i:] + "\\E")
            return len(pattern)
        out.append(pattern[i:end + 2])
        return end + 2
    if ch in "uU":
        width = 4 if ch == "u" else 8
        digits = pattern[i + 2:i + 2 + width]
        if len(digits) == width and all(c in "0123456789abcdefABCDEF" for c in digits):
            out.append(f"\\x{{{digits}}}")
            return i + 2 + width
    table = _INSIDE if in_class else _OUTSIDE
    if ch in table:
        out.append(table[ch])
    elif in_class and ch in "WS":
        raise UserRegexError(f"\\{ch} inside [...] cannot keep Python's meaning in RE2; "
                             f"write a negated class, such as [^\\w] for \\W")
    else:
        out.append(pattern[i:i + 2])
    return i + 2
