"""Feed source, before parsing: screen a document's DOCTYPE so that no entity can hurt us.

feedparser parses with expat (external general entities switched off, no handler that could
fetch anything) and falls back to its own loose parser, which expands only the "safe" entities
its regex keeps. That already stops the classic attacks, but it rests on line-oriented regexes
and on expat's amplification limits. We do not want the safety of the daemon to depend on those
details, so every document is screened first:

- a DOCTYPE without an internal subset is kept (nothing is ever fetched; feedparser reads the
  Netscape RSS 0.91 DOCTYPE to name the version);
- an internal subset holding only plain general entities (``<!ENTITY id "text">``, a value
  without references other than one character reference) is kept, as long as expanding every
  reference in the document stays small;
- anything else (external ``SYSTEM``/``PUBLIC`` entities, parameter entities and references,
  entities built from other entities, a subset we cannot read) makes us cut the whole DOCTYPE
  out. References to the removed entities then stay unexpanded text, and the parse goes on.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# Expanding declared entities may grow the document by this factor (plus a fixed allowance)
# before we call it an amplification attack.
_MAX_GROWTH = 4
_GROWTH_ALLOWANCE = 1 << 20
_MAX_SAFE_VALUE = 1024
_PROLOG_WINDOW = 1 << 16

_DOCTYPE = re.compile(r"<!DOCTYPE", re.IGNORECASE)
_NAME = re.compile(r"[^\s\[>\"']+")
_ENTITY = re.compile(r"<!ENTITY\s+(%\s+)?([^\s\"'>]+)\s*(.*)>\Z", re.DOTALL)
_PLAIN_VALUE = re.compile(r"(\"([^\"]*)\"|'([^']*)')\s*\Z", re.DOTALL)
_CHAR_REF = re.compile(r"&#(?:[0-9]+|x[0-9a-fA-F]+);")


@dataclass(frozen=True)
class Screened:
    """The document to hand to the parser, and what was changed, if anything."""

    data: bytes
    warning: str | None = None


class _Unreadable(Exception):
    """The DOCTYPE could not be read to its end."""


def _wide_codec(data: bytes) -> str | None:
    """The codec of a UTF-16/32 document (BOM or NUL pattern), None for ASCII-compatible ones."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = data[:4]
    if head == b"\x00\x00\x00<":
        return "utf-32-be"
    if head == b"<\x00\x00\x00":
        return "utf-32-le"
    if head[:2] == b"\x00<":
        return "utf-16-be"
    if head[:2] == b"<\x00":
        return "utf-16-le"
    return None


def _skip_quoted(text: str, i: int) -> int:
    quote = text[i]
    end = text.find(quote, i + 1)
    if end < 0:
        raise _Unreadable
    return end + 1


def _read_markup(text: str, i: int) -> int:
    """End of the declaration starting at text[i] == '<', honouring quotes, comments and PIs."""
    if text.startswith("<!--", i):
        end = text.find("-->", i + 4)
        if end < 0:
            raise _Unreadable
        return end + 3
    if text.startswith("<?", i):
        end = text.find("?>", i + 2)
        if end < 0:
            raise _Unreadable
        return end + 2
    j = i + 1
    while j < len(text):
        ch = text[j]
        if ch in "\"'":
            j = _skip_quoted(text, j)
            continue
        if ch == ">":
            return j + 1
        if ch == "<":
            raise _Unreadable
        j += 1
    raise _Unreadable


def _read_doctype(text: str, start: int) -> tuple[int, list[str], bool]:
    """Return (end, declarations of the internal subset, subset has parameter references)."""
    i = start + len("<!DOCTYPE")
    decls: list[str] = []
    pe_refs = False
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'":
            i = _skip_quoted(text, i)
        elif ch == ">":
            return i + 1, decls, pe_refs
        elif ch == "[":
            i += 1
            while True:
                while i < n and text[i].isspace():
                    i += 1
                if i >= n:
                    raise _Unreadable
                if text[i] == "]":
                    i += 1
                    break
                if text[i] == "%":
                    end = text.find(";", i)
                    if end < 0:
                        raise _Unreadable
                    pe_refs = True
                    i = end + 1
                elif text[i] == "<":
                    end = _read_markup(text, i)
                    decls.append(text[i:end])
                    i = end
                else:
                    raise _Unreadable
        elif ch == "<":
            raise _Unreadable
        else:
            i += 1
    raise _Unreadable


def _unsafe_reason(text: str, decls: list[str], pe_refs: bool, body: str) -> str | None:
    if pe_refs:
        return "parameter entity references"
    growth = 0
    for decl in decls:
        if not decl.startswith("<!ENTITY"):
            continue
        m = _ENTITY.match(decl)
        if m is None:
            return "an unreadable entity declaration"
        if m.group(1):
            return f"parameter entity '{m.group(2)}'"
        name, rest = m.group(2), m.group(3)
        plain = _PLAIN_VALUE.match(rest)
        if plain is None:
            return f"external entity '{name}'"
        value = plain.group(2) if plain.group(2) is not None else plain.group(3)
        if "%" in value or "&" in _CHAR_REF.sub("", value):
            return f"entity '{name}' built from other entities"
        if len(value) > _MAX_SAFE_VALUE:
            return f"entity '{name}' with a {len(value)}-character value"
        growth += body.count(f"&{name};") * len(value)
    if growth > _MAX_GROWTH * len(text) + _GROWTH_ALLOWANCE:
        return f"entities that would expand to {growth} characters"
    return None


def _find_doctype(text: str, limit: int) -> int | None:
    """Offset of a DOCTYPE in the prolog (before the first element), skipping comments and PIs."""
    i = 0
    while True:
        i = text.find("<", i, limit)
        if i < 0:
            return None
        if text.startswith("<!--", i):
            end = text.find("-->", i + 4)
        elif text.startswith("<?", i):
            end = text.find("?>", i + 2)
        elif _DOCTYPE.match(text, i):
            return i
        elif text.startswith("<!", i):
            end = text.find(">", i)
        else:
            return None  # the root element: a DOCTYPE further on is content (e.g. inside CDATA)
        if end < 0:
            return None
        i = end + 1


def screen_doctype(data: bytes) -> Screened:
    """Cut a DOCTYPE that declares anything beyond plain text entities. Never fetches anything."""
    codec = _wide_codec(data)
    if codec is None:
        if _DOCTYPE.search(data[:_PROLOG_WINDOW].decode("latin-1")) is None:
            return Screened(data)
        # latin-1 keeps byte offsets equal to character offsets, whatever the real encoding is.
        text = data.decode("latin-1")
    else:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            return Screened(data)  # not decodable: the parser will say so; no DTD can be read either
    start = _find_doctype(text, _PROLOG_WINDOW)
    if start is None:
        return Screened(data)
    reason: str | None
    try:
        end, decls, pe_refs = _read_doctype(text, start)
    except _Unreadable:
        # We cannot tell where it ends, so nothing after it can be trusted to be free of
        # declarations: drop the document's prolog from the DOCTYPE on up to the next element.
        nxt = re.compile(r"<[A-Za-z_]").search(text, start + 2)
        end = nxt.start() if nxt else len(text)
        reason = "an unreadable DOCTYPE"
    else:
        reason = _unsafe_reason(text, decls, pe_refs, text[end:])
        if reason is None:
            return Screened(data)
    cut = text[:start] + text[end:]
    # "utf-16"/"utf-32" write back the BOM their decoding consumed
    out = cut.encode("latin-1" if codec is None else codec)
    return Screened(out, f"removed a DOCTYPE declaring {reason}; nothing was fetched or expanded")


# feedparser runs its e-mail regex over author fields; on crafted text it is quadratic (feedparser
# issue #562: 8 KB costs about a second). No real author, creator or e-mail field is near 1 KB, so
# longer ones are cut before parsing, with a byte regex that is linear in the document.
AUTHOR_TEXT_MAX = 1024
_AUTHOR_FIELD = re.compile(
    rb"(<(?:[\w.-]+:)?(?:author|creator|contributor|managingeditor|webmaster|name|email|publisher)\b[^<>]{0,512}>)"
    rb"([^<]{%d,})" % (AUTHOR_TEXT_MAX + 1),
    re.IGNORECASE,
)


def _utf8_prefix(data: bytes, size: int) -> bytes:
    cut = data[:size]
    while cut and cut[-1] & 0xC0 == 0x80:  # drop a trailing partial UTF-8 sequence
        cut = cut[:-1]
    if cut and cut[-1] >= 0xC0:
        cut = cut[:-1]
    return cut


def cap_author_fields(data: bytes) -> tuple[bytes, int]:
    """The document with over-long author-like element texts cut short, and how many were cut."""
    count = 0

    def cut(m: re.Match[bytes]) -> bytes:
        nonlocal count
        count += 1
        return m.group(1) + _utf8_prefix(m.group(2), AUTHOR_TEXT_MAX)

    return _AUTHOR_FIELD.sub(cut, data), count
