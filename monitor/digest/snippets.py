"""Digest stage: snippets, a window of the article around the matched evidence, the evidence marked."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.digest.sanitize import clean_text, one_line
from monitor.models import DigestEntry

SNIPPET_CHARS = 320
_SNIPPET_LEAD = 120
_MAX_KEYWORD_HITS = 20


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
    tidy = [(one_line(clean_text(text)), hit) for text, hit in segments]
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
