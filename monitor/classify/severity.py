"""Severity of one classified text, from the level and raiser cues the matcher found.

As ARCHITECTURE.md settles it: an official level stated for the whole place (in the title, or in
the lede with no partial marker and no city or region in its sentence) fixes the severity. Else
the highest of levels stated for parts of a country, raisers (credible reports, casualties, states
of emergency; not in historical or negated sentences) and the base the threats give; a text with
no threat and no level is ``none``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Any

from monitor.classify.threats import CUE_LEVEL, CUE_RAISER, SEVERITY_NAMES, Taxonomy

_HIGH = SEVERITY_NAMES.index("high")
_MEDIUM = SEVERITY_NAMES.index("medium")
_CRITICAL = SEVERITY_NAMES.index("critical")
# Two regexes, each led by what the regex engine can skip ahead to (a digit; the first letter of a
# literal word) rather than trying one long alternation at every position: three times faster.
# "1,200" or "1200"; written to start with a digit for that reason.
_NUMBER = r"(\d(?:\d{0,2}(?:,\d{3})+|\d*))"
_COUNT_THEN_DEAD = re.compile(
    _NUMBER + r"\s+(?:[a-z]+\s+){0,3}?(?:were\s+|have\s+been\s+|had\s+been\s+)?"
    r"(?:killed|dead|deaths|died|fatalities|lives)")
_DEAD_COUNT = r"\s+(?:more than\s+|at least\s+|over\s+|nearly\s+|almost\s+|some\s+|about\s+|around\s+)?" \
    + _NUMBER + r"\s+(?:people|persons|civilians|dead)"
_DEAD_THEN_COUNT = re.compile(
    r"death toll\D{0,40}?" + _NUMBER + "|killed" + _DEAD_COUNT + "|killing" + _DEAD_COUNT + "|left" + _DEAD_COUNT)

Span = dict[str, Any]


def _span(full: str, s: int, e: int) -> list[Span]:
    return [{"text": full[s:e], "start": s, "end": e}] if e > s else []


def many_dead(full: str, limit: int, starts: list[int] | None = None,
              sent_factor: dict[int, float] | None = None) -> tuple[int, int] | None:
    """The span of the first casualty count of at least ``limit``, if the text states one (outside
    historical, hypothetical and negated sentences, when their factors are given)."""
    low = full.lower()
    found: tuple[int, int] | None = None
    for pattern in (_COUNT_THEN_DEAD, _DEAD_THEN_COUNT):
        for m in pattern.finditer(low):
            number = next(g for g in m.groups() if g)
            if starts is not None and sent_factor and sent_factor.get(bisect_right(starts, m.start()) - 1, 1.0) < 1.0:
                continue  # "the 2015 earthquake that killed nearly 9,000 people" on its anniversary
            if int(number.replace(",", "")) >= limit:
                if found is None or m.start() < found[0]:
                    found = (m.start(), m.end())
                break
    return found


def decide_severity(tax: Taxonomy, threat_types: list[str], full: str, cues: list[tuple[int, int, int, int]],
                    starts: list[int], tlen: int, lede_end: int, local_sents: set[int], partial_sents: set[int],
                    sent_factor: dict[int, float], threats: list[dict[str, Any]]) -> tuple[str, list[Span]]:
    """(severity name, evidence spans). ``local_sents`` are sentences naming a city or region."""
    overall: tuple[int, int, int] | None = None  # (rank, start, end)
    partial, partial_at = -1, (0, 0)
    raised, raised_at = -1, (0, 0)
    for s, e, kind, value in cues:
        if kind == CUE_LEVEL:
            si = bisect_right(starts, s) - 1
            if s < lede_end and si not in partial_sents and si not in local_sents:
                # The title's level wins over the lede's; within each, the first stated.
                if overall is None or (s < tlen and value > overall[0]):
                    overall = (value, s, e)
                continue
            if value > partial:
                partial, partial_at = value, (s, e)
        elif kind == CUE_RAISER:
            si = bisect_right(starts, s) - 1
            if sent_factor.get(si, 1.0) < 1.0:
                continue  # "the anniversary of the attack that killed..."
            if value > raised:
                raised, raised_at = value, (s, e)
    if overall is not None:
        rank, s, e = overall
        return SEVERITY_NAMES[rank], _span(full, s, e)
    if not threats and partial < 0:
        return "none", []
    best, at = -1, (0, 0)
    if threats:
        best = tax.base_default
        for hit in threats:
            t = threat_types.index(hit["type"])
            if t in tax.base_medium_types and hit["score"] >= tax.base_medium_min:
                best = max(best, _MEDIUM)
        if _HIGH <= raised < _CRITICAL:
            dead = many_dead(full, tax.casualties_critical, starts, sent_factor)
            if dead is not None:
                raised, raised_at = _CRITICAL, dead
        if raised > best:
            best, at = raised, raised_at
    if partial > best:
        best, at = partial, partial_at
    return SEVERITY_NAMES[max(best, 0)], _span(full, *at)
