"""The place mentions of one read text (``Mention``), what their context lines say of them (datelines,
nationality nouns) and what they add up to per region (``PlaceTally``); ``places`` finds, weighs and
resolves them.
"""

from __future__ import annotations

import re
from collections import defaultdict

from monitor.classify.gazetteer import NameCandidate, Region
from monitor.classify.reading import MAX_EVIDENCE, Span

# A dateline at the start of a body line: "PARIS —", "BAGHDAD, Iraq (Reuters) -", "DEHRADUN, India:".
_DATELINE = re.compile(r"[A-Z][A-Z.'’ -]*[A-Z](?:, ?[A-Z][A-Za-z.'’ -]{1,30})?\s*"
                       r"(?:\([A-Za-z .]{1,30}\)\s*)?(?:—|–|-|:)\s")
# A short line holding a date is a byline or a dateline: "October 9, 2024 — Dublin", "Last Updated:
# Monday, 15 September, 2003, 22:37 GMT 23:37 UK".
_DATE = re.compile(r"\b(?:1[89]|20)\d\d\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]* \d{1,2}\b"
                   r"|\b\d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)", re.IGNORECASE)
_BYLINE_MAX = 80
# What may follow a dateline's first capital (it has two at least): most lines start "The", "A man".
_DATELINE_SECOND = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ.'’ -")


def mark_datelines(full: str, title_end: int, mentions: list[Mention]) -> None:
    """A place in a dateline or a byline says where the reporter filed, not what the story is about:
    it is named in passing (the story's own places name its country where it matters)."""
    line_start = line_end = -1
    dateline_end = byline = -1
    for m in mentions:
        if m.start < title_end:
            continue
        if m.start >= line_end:
            line_start = full.rfind("\n", 0, m.start) + 1
            line_end = full.find("\n", m.start)
            if line_end < 0:
                line_end = len(full)
            byline = line_end - line_start <= _BYLINE_MAX and _DATE.search(full[line_start:line_end]) is not None
            dateline_end = -1
            if full[line_start:line_start + 1].isupper() and full[line_start + 1:line_start + 2] in _DATELINE_SECOND:
                d = _DATELINE.match(full, line_start, line_end)
                if d is not None:
                    dateline_end = d.end()
        if byline or m.end <= dateline_end:
            m.people = True


# Before a nationality's adjective, these make it a noun when nothing follows it ("a German and a Spaniard").
ARTICLES = frozenset("a an one two three four five six seven eight nine ten several".split())
_AFTER_NOUN = frozenset("and or who was were is are had has have nor".split())


def noun_use(full: str, scan: str, e: int) -> bool:
    """Whether the adjective ending at ``e`` stands alone as a noun: punctuation or a function word follows."""
    if e >= len(full) or full[e] in ",.;:!?)":
        return True
    nxt = scan[e + 1:scan.find(" ", e + 1) if scan.find(" ", e + 1) > 0 else len(scan)]
    return nxt in _AFTER_NOUN


class PlaceTally:
    """What every region's mentions add up to: score, located score (geo), evidence, and per
    country how often it is named as a location and whether in the title."""

    def __init__(self) -> None:
        self.score: dict[str, float] = defaultdict(float)
        self.geo: dict[str, float] = defaultdict(float)
        self.evidence: dict[str, list[Span]] = defaultdict(list)
        self.named: dict[str, int] = defaultdict(int)
        self.in_title: dict[str, bool] = defaultdict(bool)
        self.acting: dict[str, int] = defaultdict(int)  # named as an actor ("Tunisia's parliament")

    def add_all(self, mentions: list[Mention], full: str, known: dict[str, Region]) -> None:
        score, geo, evidence, named, in_title = self.score, self.geo, self.evidence, self.named, self.in_title
        for m in mentions:
            region = m.region
            assert region is not None
            ev = {"text": full[m.start:m.end], "start": m.start, "end": m.end}
            located = not (m.actor or m.people)
            weight = m.weight
            if m.actor and not m.people:
                self.acting[region.id] += 1
            # The region, then the country (or the countries, sharing the weight) it lies in.
            shares: tuple[tuple[str, float], ...]
            if region.kind == "country":
                shares = ((region.id, weight),)
            elif region.country:
                shares = ((region.id, weight), (region.country, weight))
            else:
                owners = [p for p in region.parents if p in known and known[p].kind == "country"]
                shares = ((region.id, weight), *((owner, weight / len(owners)) for owner in owners))
            for rid, share in shares:
                score[rid] += share
                if located:
                    geo[rid] += share
                    named[rid] += 1
                    if m.in_title:
                        in_title[rid] = True
                spans = evidence[rid]
                if len(spans) < MAX_EVIDENCE:
                    spans.append(ev)


class Mention:
    """One place name in a text, as its context reads it; ``region`` is set when it is resolved."""

    __slots__ = ("actor", "agent", "cands", "demonym", "end", "flags", "in_title", "initial", "mission", "owner",
                 "passing", "people", "prep", "region", "sent", "start", "weak", "weight")

    def __init__(self, start: int, end: int, cands: tuple[NameCandidate, ...], sent: int) -> None:
        self.start = start
        self.end = end
        self.cands = cands
        self.sent = sent
        self.region: Region | None = None
        self.owner = ""
        self.actor = False
        self.agent = False  # after "by": who acts ("brokered by Qatar")
        self.mission = False  # names a country's embassy or consulate, which stands abroad
        self.people = False
        self.demonym = False  # every candidate is a nationality's adjective ("Azerbaijani")
        self.flags = 0  # the union of the name's candidates' flags
        self.prep = False
        self.initial = False
        self.weak = False
        self.weight = 1.0
        self.in_title = False
        self.passing = False  # named in passing ("talks in Jeddah", "felt as far as Bangkok")


