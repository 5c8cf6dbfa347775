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

from bisect import bisect_right
from typing import Any

from monitor.classify.reading import MAX_EVIDENCE, NEGATION_REACH, Reading, TermHit, dated_before, negated
from monitor.classify.threats import HIT_EFFECT, HIT_RISK, ThreatType

# What may stand before a sentence's first word.
_LEADING = " \t\n\"'*#>-\u2022\u201c\u2018([0123456789.)"
# An effect counts for its cause within this many sentences of it.
_EFFECT_REACH = range(-5, 6)
_OPEN_QUOTES = frozenset("'\"‘“")
_CLOSE_QUOTES = frozenset("'\"’”")

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


class _Context:
    """What every type's tally reads besides its own hits."""

    __slots__ = ("blocked", "caused", "dated_x", "reading", "risk_x", "title_x")

    def __init__(self, reading: Reading, scoring: dict[str, float]) -> None:
        self.reading = reading
        self.title_x = scoring["title_threat"]
        self.risk_x = scoring["risk_list"]
        self.dated_x = scoring["dated_event"]
        self.blocked: set[int] = set()  # sentences where weak terms and combos count nothing
        # Sentences near the event that leaves this type's effects behind: there they count nothing.
        self.caused: set[int] = set()


def score_threats(types: list[ThreatType], scoring: dict[str, float], reading: Reading
                  ) -> tuple[list[ThreatFound], set[int]]:
    """The threats that reach their type's threshold, highest score first, and every sentence
    that names one of them."""
    ctx = _Context(reading, scoring)
    acts = _act_sentences(types, reading)
    tallies: dict[int, _Tally] = {}
    for t, hits in reading.terms.items():
        ttype = types[t]
        ctx.blocked = set().union(*(acts.get(y, ()) for y in ttype.yield_to)) if ttype.yield_to else set()
        tallies[t] = _score_type(ttype, hits, ctx)
    reported = {t for t, tally in tallies.items() if _reports(types[t], tally)}
    for t in list(tallies):
        ttype = types[t]
        causes = ttype.effect_of & reported
        if causes and (tallies[t].effects or ttype.effect_combos):
            ctx.blocked = set().union(*(acts.get(y, ()) for y in ttype.yield_to)) if ttype.yield_to else set()
            ctx.caused = {si + d for c in causes for si in tallies[c].sents for d in _EFFECT_REACH}
            tallies[t] = _score_type(ttype, reading.terms[t], ctx)
            ctx.caused = set()
    return _found(types, tallies, reading.full)


def _reports(ttype: ThreatType, tally: _Tally) -> bool:
    return tally.strong and tally.score >= ttype.threshold


def _found(types: list[ThreatType], tallies: dict[int, _Tally], full: str) -> tuple[list[ThreatFound], set[int]]:
    out: list[ThreatFound] = []
    threat_sents: set[int] = set()
    for t, tally in tallies.items():
        if not _reports(types[t], tally):
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


def _act_sentences(types: list[ThreatType], reading: Reading) -> dict[int, set[int]]:
    """Per type that another yields to, the sentences where one of its strong terms or one of its
    three-group combos names its act."""
    wanted = set().union(*(t.yield_to for t in types))
    out: dict[int, set[int]] = {}
    starts, sent_factor = reading.starts, reading.sent_factor
    full, tlen = reading.full, reading.title_end
    for t in wanted:
        seen: dict[int, int] = {}
        for s, _ne, w, flags, mask in reading.terms.get(t, ()):
            if mask:
                si = bisect_right(starts, s) - 1
                seen[si] = seen.get(si, 0) | mask
            if w < 1.0 or flags & HIT_EFFECT:
                continue  # an effect is no act
            si = bisect_right(starts, s) - 1
            # An act is a common word ("kidnapped", "bombing"); a capitalised name inside a sentence
            # ("Boko Haram", "Islamic State") is an actor. (Even denied: "the gunmen attacked but were
            # not abducted" is about the kidnapping.)
            if s >= tlen and full[s].isupper() and full[starts[si]:s].strip(_LEADING):
                continue
            if sent_factor.get(si, 1.0) > 0:
                out.setdefault(t, set()).add(si)
        # (only a combo of three groups or more says whom it was done to: "rebels seized four
        # engineers"; "insurgent attacks" alone may be fighting as well)
        combos = tuple(c for c in types[t].combos if c.bit_count() >= 3)
        for si, got in seen.items():
            if any(got & c == c for c in combos) and sent_factor.get(si, 1.0) > 0:
                out.setdefault(t, set()).add(si)
    return out


def _tally(hits: list[TermHit], ctx: _Context) -> _Tally:
    """Add up one type's term hits, leftmost-longest, weighed by their sentence."""
    reading = ctx.reading
    full, starts, tlen = reading.full, reading.starts, reading.title_end
    sent_factor, level_sents, blocked = reading.sent_factor, reading.level_sents, ctx.blocked
    negs, years = reading.negators, reading.years
    tally = _Tally()
    seen, spans, sents = tally.seen, tally.spans, tally.sents
    hits.sort()
    last = -1
    si = 0
    next_start = starts[1] if len(starts) > 1 else 1 << 62
    for s, ne, w, flags, mask in hits:
        if s < last:
            continue
        if s >= next_start:
            si = bisect_right(starts, s) - 1
            next_start = starts[si + 1] if si + 1 < len(starts) else 1 << 62
        if w <= 0:
            if mask:
                # A combo word alone weighs nothing and shadows nothing ("suicide bomber" keeps
                # "suicide bomb*"), but negation still silences it.
                if sent_factor.get(si, 1.0) > 0 and si not in blocked and not _denied(reading, negs, s):
                    seen[si] = seen.get(si, 0) | mask
            else:
                last = -ne
                tally.vetoed.add(si)  # an exclusion: it only shadows, and vetoes combos
            continue
        last = -ne
        if flags & HIT_EFFECT and si in ctx.caused:
            continue
        f = sent_factor.get(si, 1.0)
        if f <= 0 or _denied(reading, negs, s):
            continue
        if s and full[s - 1] in _OPEN_QUOTES and full[-ne:1 - ne] in _CLOSE_QUOTES and " " not in full[s:-ne]:
            # Someone else's word for it: the junta calls the rebels 'terrorist'. (A quoted name of a
            # thing, "'express kidnappings'", is the advice's own term.)
            continue
        if w < 1.0 and si in blocked:
            continue
        if mask:
            seen[si] = seen.get(si, 0) | mask
        if si in level_sents:
            # The advisory's stated risks ("due to crime, unrest and health"); a weak word there stays
            # weak ("due to violent crime" is no unrest).
            w = ctx.risk_x if flags & HIT_RISK else (w * ctx.risk_x if w >= 1.0 else w)
        # Weak terms only add up: a type needs at least one strong term (or a stated risk, or a
        # combo below).
        if w >= 1.0:
            tally.strong = True
        if s < tlen:
            w *= ctx.title_x
        if (i := bisect_right(years, s)) and years[i - 1] >= s - 20 and dated_before(reading, s):
            f *= ctx.dated_x
        tally.score += w * f
        tally.effects = tally.effects or bool(flags & HIT_EFFECT)
        sents.add(si)
        if len(spans) < MAX_EVIDENCE:
            spans.append((s, -ne))
    return tally


def _denied(reading: Reading, negs: list[int], s: int) -> bool:
    """``negated``, once a bisect says a negation word stands close enough before ``s`` to look
    (negations are rare: most words need no closer look)."""
    i = bisect_right(negs, s - 1)
    return bool(i) and negs[i - 1] >= s - NEGATION_REACH and negated(reading, s)


def _add_combos(tally: _Tally, ttype: ThreatType, hits: list[TermHit], ctx: _Context) -> None:
    """One term of every group of a combo in one sentence ("Gunmen attack police post"): as one
    strong term of that sentence."""
    reading = ctx.reading
    starts, sent_factor = reading.starts, reading.sent_factor
    sents, spans = tally.sents, tally.spans
    for si, got in tally.seen.items():
        combos = ttype.combos
        if si in ctx.caused:
            combos = tuple(c for c in combos if c not in ttype.effect_combos)
        if si in tally.vetoed or not any(got & c == c for c in combos):
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
    hi = starts[si + 1] if si + 1 < len(starts) else 1 << 62
    return [(s, -ne) for s, ne, _w, _r, mask in hits if mask and lo <= s < hi][:room]
