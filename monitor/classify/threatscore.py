"""Threats of one read text: per type, leftmost-longest among its terms and exclusions (so
"counter-terrorism" shadows "terror"); historical, hypothetical and negated sentences weigh less, and
so does a word denied in its clause ("no kidnapped tourists") or named by its year ("the 2011
uprising"); terms in the sentence that states an advisory level (its risk list) weigh more; one term
of every group of a combo in one sentence counts as a strong term.

Acts, not actors: in a sentence where a type this one yields to names its act ("rebels captured
eight hikers": a kidnapping), this type's weak terms and combos count nothing. Effects: a type's
effect terms and combos (power cuts, collapsed buildings) count only when none of the types that
leave them behind (a hurricane, a war) is reported in the text.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Set as AbstractSet
from functools import cache, lru_cache
from typing import Any

from monitor.classify.reading import (
    MAX_EVIDENCE,
    NEGATION_REACH,
    YEAR_REACH,
    Reading,
    TermHit,
    dated_before,
    negated,
)
from monitor.classify.threats import HIT_EFFECT, HIT_RISK, ThreatType

# What may stand before a sentence's first word.
_LEADING = " \t\n\"'*#>-\u2022\u201c\u2018([0123456789.)"
# An effect counts for its cause within this many sentences of it.
_EFFECT_REACH = range(-5, 6)
_OPEN_QUOTES = frozenset("'\"‘“")
_CLOSE_QUOTES = frozenset("'\"’”")
_NOWHERE: frozenset[int] = frozenset()
_FAR = 1 << 62

# A reported threat (the shape of ThreatHit, its regions still to fill in) and its sentences.
ThreatFound = tuple[dict[str, Any], set[int]]


class _Tally:
    """What one type's terms add up to in a text."""

    __slots__ = ("effects", "score", "seen", "sents", "spans", "strong", "vetoed")

    def __init__(self) -> None:
        self.score = 0.0
        self.strong = False  # a strong term, a stated risk or a combo: weak terms alone never report
        self.sents: set[int] = set()
        self.spans: list[tuple[int, int]] = []  # evidence, made into dicts only if the type is reported
        # Combo groups seen per sentence, and sentences where the type's own exclusions frame the
        # matter otherwise ("counter-terrorism operation"): there weak words do not compose.
        self.seen: dict[int, int] = {}
        self.vetoed: set[int] = set()
        self.effects = False  # an effect term counted


# The tally of a type that cannot be reported (see _may_report); never written to.
_WEAK_ONLY = _Tally()


class _Context:
    """What every type's tally reads besides its own hits."""

    __slots__ = ("blocked", "caused", "dated_x", "reading", "risk_x", "title_x")

    def __init__(self, reading: Reading, scoring: dict[str, float]) -> None:
        self.reading = reading
        self.title_x = scoring["title_threat"]
        self.risk_x = scoring["risk_list"]
        self.dated_x = scoring["dated_event"]
        self.blocked: AbstractSet[int] = _NOWHERE  # sentences where weak terms and combos count nothing
        # Sentences near the event that leaves this type's effects behind: there they count nothing.
        self.caused: AbstractSet[int] = _NOWHERE


class KeptTallies:
    """One text's tallies before effects, kept by ``score_threats`` for scoring the text again once
    some of its sentences lost their weight: only the types with words there can change."""

    __slots__ = ("first",)

    def __init__(self) -> None:
        self.first: dict[int, _Tally] = {}


def score_threats(types: list[ThreatType], scoring: dict[str, float], reading: Reading,
                  kept: KeptTallies | None = None, changed: AbstractSet[int] = _NOWHERE
                  ) -> tuple[list[ThreatFound], set[int]]:
    """The threats that reach their type's threshold, highest score first, and every sentence
    that names one of them. Given ``kept`` by an earlier call on ``reading`` and the sentences
    ``changed`` since (their factor set to 0), a type with no counted or combo word there keeps its
    tally: those sentences are all it could read differently (an act there no longer blocks, and
    only blocks words there)."""
    ctx = _Context(reading, scoring)
    terms = reading.terms
    acts: dict[int, set[int]] = {}  # per type yielded to, found on first need
    old = kept.first if kept is not None and changed else {}
    tallies: dict[int, _Tally] = {}
    for t, hits in terms.items():
        tally = old.get(t)
        if tally is None or not tally.sents.isdisjoint(changed) or not changed.isdisjoint(tally.seen):
            ttype = types[t]
            if not _may_report(ttype, hits):
                tally = _WEAK_ONLY  # (a quarter of the hits of a text are such types': not worth a tally)
            else:
                ctx.blocked = _blocked(ttype, acts, types, reading) if ttype.yield_to else _NOWHERE
                tally = _score_type(ttype, hits, ctx)
        tallies[t] = tally
    if kept is not None:
        kept.first = dict(tallies)
    reported = {t for t, tally in tallies.items() if tally.strong and _reports(types[t], tally)}
    for t, tally in list(tallies.items()):
        # (scoring again only takes away: a type that is not strong stays unreported, and no cause)
        ttype = types[t]
        causes = ttype.effect_of & reported if tally.strong and ttype.effect_of else None
        if not causes:
            continue
        caused = {si + d for c in causes for si in tallies[c].sents for d in _EFFECT_REACH}
        # Scoring again changes nothing unless an effect term counted, or combo words were seen
        # near the cause (an effect term that did not count is skipped either way).
        if tally.effects or (ttype.effect_combos and not caused.isdisjoint(tally.seen)):
            ctx.blocked = _blocked(ttype, acts, types, reading)
            ctx.caused = caused
            tallies[t] = _score_type(ttype, terms[t], ctx)
            ctx.caused = _NOWHERE
    return _found(types, tallies, reading.full)


def _may_report(ttype: ThreatType, hits: list[TermHit]) -> bool:
    """Whether a type could be reported: weak terms alone never are, it takes a strong term, a stated
    risk or one term of every group of a combo."""
    got = 0
    for _s, _ne, w, flags, mask in hits:
        if w >= 1.0 or flags & HIT_RISK:
            return True
        got |= mask
    return bool(got) and _completes(got, ttype.combos)


def _blocked(ttype: ThreatType, acts: dict[int, set[int]], types: list[ThreatType], reading: Reading
             ) -> AbstractSet[int]:
    """The sentences where a type ``ttype`` yields to names its act (``acts`` caches them per type)."""
    if not ttype.yield_to:
        return _NOWHERE
    out: set[int] = set()
    terms = reading.terms
    for y in ttype.yield_to:
        # (only a type yielded to that has hits of its own in this text can block anything)
        if y in terms:
            if y not in acts:
                acts[y] = _act_sentences(types[y], terms[y], reading)
            out |= acts[y]
    return out


def _reports(ttype: ThreatType, tally: _Tally) -> bool:
    return tally.strong and tally.score >= ttype.threshold


def _found(types: list[ThreatType], tallies: dict[int, _Tally], full: str) -> tuple[list[ThreatFound], set[int]]:
    out: list[ThreatFound] = []
    threat_sents: set[int] = set()
    for t, tally in tallies.items():
        if not tally.strong or not _reports(types[t], tally):
            continue
        tally.spans.sort()
        evidence = [{"text": full[s:e], "start": s, "end": e} for s, e in tally.spans]
        out.append(({"type": types[t].id, "score": round(tally.score, 2), "evidence": evidence, "regions": []},
                    tally.sents))
        threat_sents |= tally.sents
    out.sort(key=lambda x: -x[0]["score"])
    return out, threat_sents


def _score_type(ttype: ThreatType, hits: list[TermHit], ctx: _Context) -> _Tally:
    tally = _tally(hits, ctx)
    if tally.seen and ttype.combos:
        _add_combos(tally, ttype, hits, ctx)
    return tally


def _act_sentences(ttype: ThreatType, hits: list[TermHit], reading: Reading) -> set[int]:
    """The sentences where one of the strong terms of a type another yields to, or one of its
    three-group combos, names its act."""
    out: set[int] = set()
    starts, sent_factor = reading.starts, reading.sent_factor
    full, tlen = reading.full, reading.title_end
    # (only a combo of three groups or more says whom it was done to: "rebels seized four
    # engineers"; "insurgent attacks" alone may be fighting as well)
    combos = _whom_combos(ttype.combos)
    seen: dict[int, int] = {}
    hits.sort()  # (as _tally sorts them: walk the sentences along, and sort once)
    si, next_start = 0, (starts[1] if len(starts) > 1 else _FAR)
    for s, _ne, w, flags, mask in hits:
        act = w >= 1.0 and not flags & HIT_EFFECT  # (an effect is no act)
        if not act and not (mask and combos):
            continue
        if s >= next_start:
            si = bisect_right(starts, s) - 1
            next_start = starts[si + 1] if si + 1 < len(starts) else _FAR
        if mask:
            seen[si] = seen.get(si, 0) | mask
        # An act is a common word ("kidnapped", "bombing"); a capitalised name inside a sentence
        # ("Boko Haram", "Islamic State") is an actor. (Even denied: "the gunmen attacked but were
        # not abducted" is about the kidnapping.)
        if act and not (s >= tlen and full[s].isupper() and full[starts[si]:s].strip(_LEADING)) and sent_factor.get(
                si, 1.0) > 0:
            out.add(si)
    for si, got in seen.items():
        if _completes(got, combos) and sent_factor.get(si, 1.0) > 0:
            out.add(si)
    return out


# (the helpers below are cached: a taxonomy has few combos, and a sentence few sets of groups seen)
@cache
def _whom_combos(combos: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(c for c in combos if c.bit_count() >= 3)


@cache
def _causes_own(combos: tuple[int, ...], effect_combos: tuple[int, ...]) -> tuple[int, ...]:
    """The combos that are no effect (near its cause an effect combo counts nothing)."""
    return tuple(c for c in combos if c not in effect_combos)


@lru_cache(maxsize=1 << 14)
def _completes(got: int, combos: tuple[int, ...]) -> bool:
    """Whether the combo groups ``got`` complete one of ``combos``."""
    return any(got & c == c for c in combos)


def _tally(hits: list[TermHit], ctx: _Context) -> _Tally:
    """Add up one type's term hits, leftmost-longest, weighed by their sentence."""
    reading = ctx.reading
    full, starts, tlen, negs, years = reading.full, reading.starts, reading.title_end, reading.negators, reading.years
    sent_factor, level_sents, blocked, caused = reading.sent_factor, reading.level_sents, ctx.blocked, ctx.caused
    tally = _Tally()
    seen, spans, sents, vetoed = tally.seen, tally.spans, tally.sents, tally.vetoed
    score, strong, counted_flags, last, si = 0.0, False, 0, -1, 0
    hits.sort()
    next_start = starts[1] if len(starts) > 1 else _FAR
    # Negation words and years are rare: pass them with the sorted hits; look closer only within reach.
    neg_next, neg_reach = (negs[0] if negs else _FAR), -1
    year_next, year_reach = (years[0] if years else _FAR), -1
    for s, ne, w, flags, mask in hits:
        if s < last:
            continue
        if s >= next_start:
            si = bisect_right(starts, s) - 1
            next_start = starts[si + 1] if si + 1 < len(starts) else _FAR
        if neg_next < s:
            neg_next, neg_reach = _passed(negs, bisect_left(negs, s), NEGATION_REACH)
        if w <= 0:
            if mask:
                # A combo word alone weighs nothing and shadows nothing ("suicide bomber" keeps
                # "suicide bomb*"), but negation still silences it.
                if sent_factor.get(si, 1.0) > 0 and si not in blocked and not (
                        s <= neg_reach and negated(reading, s)):
                    seen[si] = seen.get(si, 0) | mask
            else:
                last = -ne
                vetoed.add(si)  # an exclusion: it only shadows, and vetoes combos
            continue
        last = -ne
        f = sent_factor.get(si, 1.0)
        if f <= 0 or (w < 1.0 and si in blocked) or (flags & HIT_EFFECT and si in caused) or (
                s <= neg_reach and negated(reading, s)):
            continue
        if s and full[s - 1] in _OPEN_QUOTES and full[-ne:1 - ne] in _CLOSE_QUOTES and " " not in full[s:-ne]:
            continue  # another's label ('terrorist'); a quoted name ('express kidnappings') is the text's own
        if mask:
            seen[si] = seen.get(si, 0) | mask
        if si in level_sents:
            # The advisory's stated risks ("due to crime, unrest and health"); a weak word there stays
            # weak ("due to violent crime" is no unrest).
            w = ctx.risk_x if flags & HIT_RISK else (w * ctx.risk_x if w >= 1.0 else w)
        # Weak terms only add up: a type needs a strong term (or a stated risk, or a combo below).
        strong = strong or w >= 1.0
        if s < tlen:
            w *= ctx.title_x
        if year_next <= s:
            year_next, year_reach = _passed(years, bisect_right(years, s), YEAR_REACH)
        if s <= year_reach and dated_before(reading, s):
            f *= ctx.dated_x
        score += w * f
        counted_flags |= flags
        sents.add(si)
        if len(spans) < MAX_EVIDENCE:
            spans.append((s, -ne))
    tally.score, tally.strong, tally.effects = score, strong, bool(counted_flags & HIT_EFFECT)
    return tally


def _passed(points: list[int], i: int, reach: int) -> tuple[int, int]:
    """(the first of ``points`` from index ``i`` on, the position up to which the one before ``i``
    reaches)."""
    return (points[i] if i < len(points) else _FAR), points[i - 1] + reach


def _add_combos(tally: _Tally, ttype: ThreatType, hits: list[TermHit], ctx: _Context) -> None:
    """One term of every group of a combo in one sentence ("Gunmen attack police post"): as one
    strong term of that sentence."""
    reading = ctx.reading
    starts, sent_factor = reading.starts, reading.sent_factor
    sents, spans = tally.sents, tally.spans
    caused, vetoed = ctx.caused, tally.vetoed
    for si, got in tally.seen.items():
        combos = _causes_own(ttype.combos, ttype.effect_combos) if si in caused else ttype.combos
        if si in vetoed or not _completes(got, combos):
            continue
        tally.strong = True
        w = sent_factor.get(si, 1.0) * (ctx.title_x if starts[si] < reading.title_end else 1.0)
        tally.score += w
        if si not in sents:
            sents.add(si)
            if len(spans) < MAX_EVIDENCE:
                spans.extend(_combo_spans(hits, starts, si, MAX_EVIDENCE - len(spans)))


def _combo_spans(hits: list[TermHit], starts: list[int], si: int, room: int) -> list[tuple[int, int]]:
    """The combo words of sentence ``si`` as evidence (they are not in it yet: alone they weigh 0)."""
    lo = starts[si]
    hi = starts[si + 1] if si + 1 < len(starts) else _FAR
    return [(s, -ne) for s, ne, _w, _r, mask in hits if mask and lo <= s < hi][:room]
