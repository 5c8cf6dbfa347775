"""Severity of one classified text, from the level and raiser cues the matcher found (THREATS.md,
"Severity").

An official level stated for the whole place (in the title; or with no partial marker and no city
or region in its sentence, in the lede or in a sentence that names the text's country) fixes the
severity. A legend that lists the levels (three or more, close together) states none of them. Else
the highest of levels stated for parts of a country (one step lower: do-not-travel for three
provinces is high), raisers (credible reports, casualties, states of emergency; not in historical
or negated sentences, nor denied in their clause) and the base the threats give; deaths from disease
alone never raise above high. A text with no threat and no level is ``none``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from monitor.classify.reading import Reading, Span, negated
from monitor.classify.threats import CUE_LEVEL, CUE_RAISER, SEVERITY_NAMES, Taxonomy

_LOW = SEVERITY_NAMES.index("low")
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
# Level cues this close to each other, three ranks or more, are a legend of the levels.
_LEGEND_GAP = 160
_LEGEND_RANKS = 3
_DEAD_THEN_COUNT = re.compile(
    r"death toll\D{0,40}?" + _NUMBER + "|killed" + _DEAD_COUNT + "|killing" + _DEAD_COUNT + "|left" + _DEAD_COUNT)


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
            if len(number) == 4 and number[:2] in ("19", "20"):
                continue  # "on 2 July 2017 insurgents killed 9": a year, not a count
            if starts is not None and sent_factor and sent_factor.get(bisect_right(starts, m.start()) - 1, 1.0) < 1.0:
                continue  # "the 2015 earthquake that killed nearly 9,000 people" on its anniversary
            if int(number.replace(",", "")) >= limit:
                if found is None or m.start() < found[0]:
                    found = (m.start(), m.end())
                break
    return found


def decide_severity(tax: Taxonomy, threat_types: list[str], reading: Reading, threats: list[dict[str, Any]],
                    local_sents: set[int], country_sents: set[int] | None = None) -> tuple[str, list[Span]]:
    """(severity name, evidence spans) of a read text with these ``threats`` found in it.
    ``local_sents`` are the sentences naming a city or region, ``country_sents`` those naming the
    text's country."""
    stated = _stated_levels(reading, local_sents, country_sents or set())
    full = reading.full
    if stated.overall is not None:
        rank, s, e = stated.overall
        return SEVERITY_NAMES[rank], _span(full, s, e)
    if not threats and stated.partial < 0:
        return "none", []
    best, at = -1, (0, 0)
    if threats:
        best = _threat_base(tax, threat_types, threats)
        raised, raised_at = stated.raised, stated.raised_at
        disease_only = all(hit["type"] == "health" for hit in threats)
        if _HIGH <= raised < _CRITICAL and not disease_only:
            dead = many_dead(full, tax.casualties_critical, reading.starts, reading.sent_factor)
            if dead is not None:
                raised, raised_at = _CRITICAL, dead
        if disease_only:
            raised = min(raised, _HIGH)
        if raised > best:
            best, at = raised, raised_at
    if stated.partial > best:
        best, at = stated.partial, stated.partial_at
    return SEVERITY_NAMES[max(best, 0)], _span(full, *at)


@dataclass(slots=True)
class _Stated:
    """The severity cues of a text, at their highest: ranks (-1 for none) and where they stand."""

    overall: tuple[int, int, int] | None = None  # (rank, start, end) of a level for the whole place
    partial: int = -1
    partial_at: tuple[int, int] = (0, 0)
    raised: int = -1
    raised_at: tuple[int, int] = (0, 0)


def _stated_levels(reading: Reading, local_sents: set[int], country_sents: set[int]) -> _Stated:
    """The overall level (the title's wins over the lede's; within each, the first stated), the
    highest partial level and the highest raiser outside historical or negated sentences."""
    starts, tlen, lede_end = reading.starts, reading.title_end, reading.lede_end
    partial_sents, sent_factor = reading.partial_sents, reading.sent_factor
    legend = _legend(reading)
    out = _Stated()
    for s, e, kind, value in reading.cues:
        if kind == CUE_LEVEL:
            if s in legend:
                continue
            si = bisect_right(starts, s) - 1
            whole = si not in partial_sents and si not in local_sents
            if whole and (s < lede_end or si in country_sents):
                if out.overall is None or (s < tlen and value > out.overall[0]):
                    out.overall = (value, s, e)
                continue
            if value - 1 > out.partial:
                out.partial, out.partial_at = max(value - 1, _LOW), (s, e)
        elif kind == CUE_RAISER:
            si = bisect_right(starts, s) - 1
            if sent_factor.get(si, 1.0) < 1.0 or negated(reading, s):
                continue  # "the anniversary of the attack that killed...", "no one was injured"
            if value > out.raised:
                out.raised, out.raised_at = value, (s, e)
    return out


def _legend(reading: Reading) -> set[int]:
    """Starts of the level cues that belong to a legend: three ranks or more listed close together
    outside the title ("Exercise normal precautions / Exercise increased caution / Reconsider travel
    / Do not travel"), each once. A legend names the levels; it states none."""
    out: set[int] = set()
    group: list[tuple[int, int, int]] = []
    inner: list[int] = []  # cues inside the group's ("increased caution" in "exercise increased caution")

    def close() -> None:
        if len({v for _s, _e, v in group}) >= _LEGEND_RANKS:
            out.update(gs for gs, _ge, _v in group)
            out.update(inner)

    for s, e, kind, value in reading.cues:
        if kind != CUE_LEVEL or s < reading.title_end:
            continue
        if group and s < group[-1][1]:
            inner.append(s)
            continue
        # (a level said again after the legend is a statement: the legend lists each level once)
        if group and (s - group[-1][1] > _LEGEND_GAP or any(v == value for _s, _e, v in group)):
            close()
            group, inner = [], []
        group.append((s, e, value))
    close()
    return out


def _threat_base(tax: Taxonomy, threat_types: list[str], threats: list[dict[str, Any]]) -> int:
    """The severity the threats give on their own: the default, or medium for a listed type that
    scores enough."""
    best = tax.base_default
    for hit in threats:
        t = threat_types.index(hit["type"])
        if t in tax.base_medium_types and hit["score"] >= tax.base_medium_min:
            best = max(best, _MEDIUM)
    return best
