"""Feed source, before parsing: repair a declared charset that does not fit the bytes.

feedparser trusts the HTTP and XML declarations and, when they fail, falls back to
windows-1252. A Cyrillic feed served as ``utf-8`` or ``iso-8859-1`` but written in windows-1251
then comes out as "Ðîññèÿ". When the bytes are not valid UTF-8 and the declaration is missing,
wrong, or a Latin single-byte charset, we try a few single-byte charsets, keep the one whose
words look like words of one script, transcode to UTF-8 and say so in a warning.
"""

from __future__ import annotations

import codecs
import itertools
import re
from dataclasses import dataclass

# Declared charsets that decode any byte string, so "it decoded" proves nothing.
_PERMISSIVE = frozenset({"latin-1", "iso8859-1", "cp1252", "iso8859-15", "ascii"})
_CANDIDATES = ("cp1252", "cp1251", "koi8-r", "iso8859-2")
_XML_ENCODING = re.compile(rb"^(\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_WORD = re.compile(r"[^\W\d_]+")
_SAMPLE = 1 << 18


@dataclass(frozen=True)
class Repaired:
    data: bytes
    content_type: str | None
    warning: str | None = None


def _codec_name(label: str | None) -> str | None:
    if not label:
        return None
    try:
        return codecs.lookup(label.strip()).name
    except LookupError:
        return None


def _charset_param(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = re.search(r";\s*charset\s*=\s*\"?([^\s;\"]+)", content_type, re.IGNORECASE)
    return m.group(1) if m else None


def _script(ch: str) -> str:
    code = ord(ch)
    if code < 0x250:
        return "latin"
    if 0x400 <= code < 0x530:
        return "cyrillic"
    if 0x370 <= code < 0x400:
        return "greek"
    return "other"


def _implausible_words(text: str) -> int:
    """Words mixing scripts, with odd capitals inside, or with long runs of accented letters."""
    bad = 0
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        scripts = {_script(ch) for ch in word}
        run = longest = 0
        for ch in word:
            run = run + 1 if (not ch.isascii() and _script(ch) == "latin") else 0
            longest = max(longest, run)
        odd_case = any(a.islower() and b.isupper() for a, b in itertools.pairwise(word))
        if len(scripts) > 1 or longest >= 3 or odd_case:
            bad += 1
    return bad


def repair_charset(data: bytes, content_type: str | None) -> Repaired:
    """Return the document unchanged, or transcoded to UTF-8 with a warning naming both charsets."""
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or data.startswith(codecs.BOM_UTF8):
        return Repaired(data, content_type)
    if b"\x00" in data[:4]:
        return Repaired(data, content_type)  # UTF-16/32 without a BOM: leave it to the parser
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return Repaired(data, content_type)
    m = _XML_ENCODING.match(data[:1024])
    label = _charset_param(content_type) or (m.group(2).decode("ascii") if m else None)
    declared = _codec_name(label)
    sample = data[:_SAMPLE]
    if declared is not None and declared not in _PERMISSIVE and declared != "utf-8":
        try:
            data.decode(declared)
        except UnicodeDecodeError:
            pass
        else:
            return Repaired(data, content_type)  # a real non-Latin declaration that fits
    scored: list[tuple[int, int, str]] = []
    order = ([declared] if declared in _PERMISSIVE else []) + [c for c in _CANDIDATES if c != declared]
    for rank, name in enumerate(order):
        try:
            text = sample.decode(name)
        except UnicodeDecodeError:
            continue
        scored.append((_implausible_words(text), rank, name))
    if not scored:
        return Repaired(data, content_type)
    chosen = min(scored)[2]
    if chosen == declared:
        return Repaired(data, content_type)
    text = data.decode(chosen, errors="replace")
    text = re.sub(r"^(\ufeff?\s*<\?xml[^>]*?encoding\s*=\s*[\"'])[^\"']*", r"\1utf-8", text, count=1)
    if content_type:
        new_type = re.sub(r";\s*charset\s*=\s*\"?[^\s;\"]+\"?", "", content_type, flags=re.IGNORECASE)
        new_type = f"{new_type}; charset=utf-8"
    else:
        new_type = None
    warning = f"declared charset {label or '(none)'} does not fit the bytes; decoded as {chosen}"
    return Repaired(text.encode("utf-8"), new_type, warning)
