"""Length-preserving folding of text for matching: lower case, no diacritics, plain apostrophes.

The matcher scans the folded text and reports offsets that must index the original text, so every
character folds to exactly one character. Names in the gazetteer and threat terms are folded with
the same function, so "Türkiye", "Turkiye" and "TÜRKIYE" all meet "turkiye".
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right

# Letters whose decomposition has no plain base letter, spelled as writers without the key do.
_EXTRA = {
    "ə": "e", "Ə": "e", "ı": "i", "İ": "i", "ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d",
    "ħ": "h", "Ħ": "h", "ß": "s", "æ": "a", "Æ": "a", "œ": "o", "Œ": "o", "þ": "t", "Þ": "t", "ð": "d",
    "Ð": "d", "ŀ": "l", "ŉ": "n",
    "\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u02bb": "'", "`": "'", "\u00b4": "'",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u00a0": " ",
}


def _build_table() -> dict[int, str]:
    table: dict[int, str] = {}
    # Latin-1 to Latin Extended-B, and Latin Extended Additional: Vietnamese (Hà Nội, Đà Nẵng) and the
    # dotted transliterations GeoNames uses for Arabic and Turkic names (Al Ḩudaydah, Şanlıurfa).
    for code in (*range(0x80, 0x250), *range(0x1E00, 0x1F00)):
        ch = chr(code)
        if ch in _EXTRA:
            continue
        base = unicodedata.normalize("NFKD", ch)[:1].lower()
        if base and base != ch and len(base) == 1 and base.isascii():
            table[code] = base
        elif len(ch.lower()) == 1:
            table[code] = ch.lower()
    for ch, to in _EXTRA.items():
        table[ord(ch)] = to
    return table


_TABLE = _build_table()


def fold(text: str) -> str:
    """Folded copy of ``text`` with exactly the same length."""
    low = text.lower()
    if len(low) != len(text):
        # A few capitals lower to two characters (İ); fold them one by one instead.
        low = "".join(c.lower()[:1] for c in text)
    if not low.isascii():
        low = low.translate(_TABLE)
    return low


def fold_name(name: str) -> str:
    """Folded form of a name or term as stored in the matcher: single spaces, no edge spaces."""
    return " ".join(fold(name).split())


# What the matcher scans: folded, and every character that is not a letter or digit a space, so
# that matches on word boundaries are the only matches (keys are stored as " word " / " prefix").
_SCAN_BYTES = bytes(c if chr(c).isalnum() else 32 for c in range(128)) + b" " * 128


# A non-ASCII character's byte in the scan form: its folded letter or digit, else a space.
_SCAN_ORD = {chr(code): ord(to) if to.isascii() and to.isalnum() else 32 for code, to in _TABLE.items()}


def scan_form(text: str) -> str:
    """``text`` folded for scanning: same length, ASCII only, lower case, punctuation as spaces."""
    low = text.lower()
    if len(low) != len(text):
        low = text.replace("\u0130", "I").lower()  # the one capital (İ) that lowers to two characters
        if len(low) != len(text):
            low = "".join(c.lower()[:1] for c in text)
    # Every non-ASCII character becomes one "?" (so offsets hold); only those few are looked up, which
    # costs less than a regex pass over the whole text.
    data = low.encode("ascii", "replace")
    if not low.isascii():
        buf = bytearray(data)
        at = data.find(b"?")
        while at >= 0:
            ch = low[at]
            if ch != "?":
                buf[at] = _SCAN_ORD.get(ch, 32)
            at = data.find(b"?", at + 1)
        data = bytes(buf)
    return data.translate(_SCAN_BYTES).decode("ascii")


def scan_key(name: str, prefix: bool = False) -> str:
    """The automaton key for a name or term: " word " (whole words) or " word" (any ending)."""
    core = " ".join(scan_form(name).split()) if not any(ch in name for ch in ".,'’-/&") else scan_form(name).strip()
    return f" {core}" if prefix else f" {core} "


# A sentence ends at . ! ? followed by white space, a closing quote or the end (not after a lone
# capital, as in "U.S. Embassy"), or at a line break; the white space after it belongs to no sentence.
# One regex does it all in C: a Python loop over every full stop cost more than the rest of the scan.
# Each branch starts with its own literal so that the regex engine skips ahead to those four
# characters instead of trying the pattern at every position (twice as fast).
_UPPER = "A-Z\u00c0-\u00d6\u00d8-\u00de"
_ENDS_SENTENCE = rf"(?<![\W\d_][{_UPPER}].)(?<!^[{_UPPER}].)(?=[ \t\n\"'”’)\]])"
_SENTENCE_END = re.compile(rf"(?:\.{_ENDS_SENTENCE}|!{_ENDS_SENTENCE}|\?{_ENDS_SENTENCE}|\n)[ \t\n]*")


_MATCH_END = re.Match.end


def sentence_starts(text: str) -> list[int]:
    """Offsets where sentences start, for bisecting a position to its sentence number."""
    # Each match takes at least one character, so its ends rise strictly: no check needed.
    return [0, *map(_MATCH_END, _SENTENCE_END.finditer(text))]


def sentence_of(starts: list[int], pos: int) -> int:
    return bisect_right(starts, pos) - 1
