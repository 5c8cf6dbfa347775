"""The first step of classifying a text: one pass of the compiled automaton, and what each sentence
says of itself (historical, hypothetical or negated; stating an advisory level; about part of a
country).

Offsets: every span indexes into ``Reading.full``, that is ``title + "\\n\\n" + text``. The automaton
runs over the scan form of it (folded, punctuation as spaces, same length), whose keys carry their
word boundaries, so every match is a whole-word (or word-start) match.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

from monitor.classify.compiled import CompiledRules, PlaceRecord
from monitor.classify.fold import scan_form, sentence_starts
from monitor.classify.threats import CUE_ISSUER, CUE_LEVEL, CUE_MODIFIER, CUE_NEGATOR, CUE_PARTIAL, NEGATORS

# A threat term's match: (start, -end, weight, flags (HIT_RISK, HIT_EFFECT), combo mask); -end so that a
# plain sort puts the longest of the matches at one start first (leftmost-longest).
TermHit = tuple[int, int, float, int, int]
Cue = tuple[int, int, int, int]  # (start, end, kind, value)
Span = dict[str, Any]  # {"text", "start", "end"}

# Evidence spans kept per threat and per region.
MAX_EVIDENCE = 6

# Negation in front of a word, within its clause: "no kidnapped tourists", "not a terror attack",
# "non-violent", "no flights were cancelled", "no one was killed".
# Words that end a negation's reach before the word ("not clear whether the attack", "did not rule
# out terrorism", "not the first attack"): the word is then asserted, not denied.
_SCOPE_ENDS = frozenset("but whether if that which who whom where when while after before since because only "
                        "first last rule ruled say said says clear known sure also least just far".split())
_CLAUSE_END = re.compile(r"[,;:.!?()\[\]\"“”—–\n]")
_NEGATION_WORDS = 4
NEGATION_REACH = 48  # characters
YEAR_REACH = 20  # characters from a year's end to the word it names
# "the 2011 uprising", "since the 2021 coup": an event named by its year is background.
_YEAR_BEFORE = re.compile(r"\b(?:the|since|after|following|during|before|of|in) (?:1[89]|20)\d\d(?: [a-z]+)? \Z")


@dataclass(slots=True)
class Reading:
    """One text as the automaton found it; the later steps (threats, places, severity) read it."""

    full: str
    scan: str
    title_end: int  # the title is full[:title_end]
    lede_end: int
    starts: list[int]  # where each sentence starts
    # Capitalised place-name matches: (start, -end, record), -end as for terms. No two share a span
    # (a span's text is its automaton key), so a plain sort never compares records.
    places: list[tuple[int, int, PlaceRecord]]
    terms: dict[int, list[TermHit]]  # per threat type
    cues: list[Cue]
    # Sentence context, by sentence index: the lowest modifier factor, sentences that state an
    # advisory level (its risk list), and sentences with a partial-country marker.
    sent_factor: dict[int, float] = field(default_factory=dict)
    level_sents: set[int] = field(default_factory=set)
    partial_sents: set[int] = field(default_factory=set)
    # Where a negation word starts, and where a year ends: most words have neither close before
    # them, and these lists let them say so without looking.
    negators: list[int] = field(default_factory=list)
    years: list[int] = field(default_factory=list)


def negated(reading: Reading, s: int) -> bool:
    """Whether the word at ``s`` is denied by a negation in front of it, in the same clause."""
    negators = reading.negators
    i = bisect_right(negators, s - 1) - 1
    if i < 0 or negators[i] < s - NEGATION_REACH:
        return False
    full, scan = reading.full, reading.scan
    lo = s - NEGATION_REACH if s > NEGATION_REACH else 0
    for m in _CLAUSE_END.finditer(full, lo, s):
        lo = m.end()
    words = scan[lo:s].split()
    for word in reversed(words[-_NEGATION_WORDS:]):
        if word in _SCOPE_ENDS:
            return False
        if word in NEGATORS:
            return True
    return False


def dated_before(reading: Reading, s: int) -> bool:
    """Whether the word at ``s`` follows a year that names a past event ("the 2011 uprising")."""
    years = reading.years
    i = bisect_right(years, s) - 1
    if i < 0 or years[i] < s - YEAR_REACH:
        return False
    return _YEAR_BEFORE.search(reading.scan, s - 30 if s > 30 else 0, s) is not None


def read_text(compiled: CompiledRules, title: str, text: str) -> Reading:
    """Every match of the rules in ``title`` and ``text``, and the context of their sentences."""
    full = f"{title}\n\n{text}"
    scan = scan_form(full)
    tax = compiled.taxonomy
    places, terms, cues, marks = _matches(compiled, full, scan)
    if tax.regex is not None:
        for m in tax.regex.finditer(full):
            hit = (m.start(), -m.end(), 1.0, 0, 0)
            terms.setdefault(tax.regex_types[m.lastgroup or ""], []).append(hit)
    tlen = len(title)
    reading = Reading(full, scan, tlen, tlen + 2 + tax.lede_chars, sentence_starts(full), places, terms, cues)
    _add_marks(reading, marks)
    places.sort()
    _sentence_context(reading, tax.modifier_factors)
    return reading


def _matches(compiled: CompiledRules, full: str, scan: str
             ) -> tuple[list[tuple[int, int, PlaceRecord]], dict[int, list[TermHit]], list[Cue], list[Cue]]:
    """(place matches, term hits per threat type, cues, negation words and years) of one automaton
    pass."""
    records = compiled.records
    n = len(scan)
    places: list[tuple[int, int, PlaceRecord]] = []
    terms: dict[int, list[TermHit]] = {}
    cues: list[Cue] = []
    marks: list[Cue] = []
    # The automaton sees " " + scan + " ": a key " name " ending at `end` spans
    # scan[end - klen + 1:end - 1]; a prefix key " name" spans from the same start to the word's end.
    find = scan.find
    for end, ri in compiled.automaton.iter(f" {scan} "):
        klen, prefix, place, tentries, tcues = records[ri]
        s = end - klen + 1
        if prefix:
            e = find(" ", end)
            if e < 0:
                e = n
        else:
            e = end - 1
        # A place name counts only capitalised (never "nice", "reading"): drop the rest here, before
        # any work is spent on them.
        if place is not None and full[s].isupper():
            places.append((s, -e, place))
        if tentries is not None:
            for threat, weight, flags, mask in tentries:
                hit = (s, -e, weight, flags, mask)
                if threat in terms:
                    terms[threat].append(hit)
                else:
                    terms[threat] = [hit]
        if tcues is not None:
            for kind, value, _prefix in tcues:
                if kind < CUE_NEGATOR:
                    cues.append((s, e, kind, value))
                elif s and e < n:  # (a space on either side within the scan form, not the padding)
                    marks.append((s, e, kind, value))
    return places, terms, cues, marks


def _add_marks(reading: Reading, marks: list[Cue]) -> None:
    """Where each negation word starts and each year ends (in order: the automaton reports matches
    by their end). Two years in a row ("2011 2012") share the space between them: only the first
    counts, as when the scan was a regex's."""
    negators, years = reading.negators, reading.years
    after_year = -1
    for s, e, kind, _value in marks:
        if kind == CUE_NEGATOR:
            negators.append(s)
        elif s - 1 != after_year:
            years.append(e)
            after_year = e


def _in_place(places: list[tuple[int, int, PlaceRecord]], s: int, e: int) -> bool:
    """Whether ``s:e`` lies inside a place name's match (``places`` sorted)."""
    i = bisect_right(places, (s, 1 << 62)) - 1
    while i >= 0 and places[i][0] > s - 80:
        ps, ne, _rec = places[i]
        if e <= -ne and -ne - ps > e - s:
            return True
        i -= 1
    return False


def _sentence_context(reading: Reading, factors: list[float]) -> None:
    """Fill in the modifiers' factors and the sentences that state a level or a partial marker."""
    full, starts = reading.full, reading.starts
    sent_factor, level_sents, partial_sents = reading.sent_factor, reading.level_sents, reading.partial_sents
    # An issuer's name holds words that would mark part of a country ("Department of Foreign Affairs").
    # (listed only once a partial marker needs them: most texts have none)
    issuers: list[tuple[int, int]] | None = None
    for s, e, kind, value in reading.cues:
        si = bisect_right(starts, s) - 1
        if kind == CUE_MODIFIER:
            sent_factor[si] = min(sent_factor.get(si, 1.0), factors[value])
        elif kind == CUE_LEVEL:
            level_sents.add(si)
            # "Exercise increased caution\n\nin Bolivia due to crime, unrest and health.": a level
            # stated without a full stop goes on in the next line's risk list.
            if si + 1 < len(starts) and full[starts[si]:starts[si + 1]].rstrip()[-1:] not in ".!?":
                level_sents.add(si + 1)
        elif kind == CUE_PARTIAL and not _in_place(reading.places, s, e):
            # (not "Central" in "Central African Republic", "Northern" in "Northern Ireland")
            if issuers is None:
                issuers = [(s0, e0) for s0, e0, k, _v in reading.cues if k == CUE_ISSUER]
            if not any(i0 <= s and e <= i1 for i0, i1 in issuers):
                partial_sents.add(si)
