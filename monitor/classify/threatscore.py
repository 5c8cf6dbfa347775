"""Threats of one read text: per type, leftmost-longest among its terms and exclusions (so
"counter-terrorism" shadows "terror"); historical, hypothetical and negated sentences weigh less;
terms in the sentence that states an advisory level (its risk list) weigh more; one term of every
group of a combo in one sentence counts as a strong term.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from monitor.classify.reading import MAX_EVIDENCE, Reading, TermHit
from monitor.classify.threats import ThreatType

# A reported threat (the shape of ThreatHit, its regions still to fill in) and its sentences.
ThreatFound = tuple[dict[str, Any], set[int]]


class _Tally:
    """What one type's terms add up to in a text."""

    __slots__ = ("score", "seen", "sents", "spans", "strong", "vetoed")

    def __init__(self, score: float, strong: bool, sents: set[int], spans: list[tuple[int, int]],
                 seen: dict[int, int], vetoed: set[int]) -> None:
        self.score = score
        self.strong = strong  # a strong term, a stated risk or a combo: weak terms alone never report
        self.sents = sents
        self.spans = spans  # evidence, made into dicts only if the type is reported
        # Combo groups seen per sentence, and sentences where the type's own exclusions frame the
        # matter otherwise ("counter-terrorism operation"): there weak words do not compose.
        self.seen = seen
        self.vetoed = vetoed


def score_threats(types: list[ThreatType], scoring: dict[str, float], reading: Reading
                  ) -> tuple[list[ThreatFound], set[int]]:
    """The threats that reach their type's threshold, highest score first, and every sentence
    that names one of them."""
    title_x = scoring["title_threat"]
    risk_x = scoring["risk_list"]
    full = reading.full
    out: list[ThreatFound] = []
    threat_sents: set[int] = set()
    for t, hits in reading.terms.items():
        ttype = types[t]
        tally = _tally(hits, reading, title_x, risk_x)
        if tally.seen and ttype.combos:
            _add_combos(tally, ttype.combos, hits, reading, title_x)
        if tally.strong and tally.score >= ttype.threshold:
            tally.spans.sort()
            evidence = [{"text": full[s:e], "start": s, "end": e} for s, e in tally.spans]
            out.append(({"type": ttype.id, "score": round(tally.score, 2), "evidence": evidence, "regions": []},
                        tally.sents))
            threat_sents |= tally.sents
    out.sort(key=lambda x: -x[0]["score"])
    return out, threat_sents


def _tally(hits: list[TermHit], reading: Reading, title_x: float, risk_x: float) -> _Tally:
    """Add up one type's term hits, leftmost-longest, weighed by their sentence."""
    starts, tlen = reading.starts, reading.title_end
    sent_factor, level_sents = reading.sent_factor, reading.level_sents
    hits.sort()
    last = -1
    score = 0.0
    strong = False
    spans: list[tuple[int, int]] = []
    sents: set[int] = set()
    seen: dict[int, int] = {}
    vetoed: set[int] = set()
    si = 0
    next_start = starts[1] if len(starts) > 1 else 1 << 62
    for s, ne, w, risk, mask in hits:
        if s < last:
            continue
        if s >= next_start:
            si = bisect_right(starts, s) - 1
            next_start = starts[si + 1] if si + 1 < len(starts) else 1 << 62
        if w <= 0:
            if mask:
                # A combo word alone weighs nothing and shadows nothing ("suicide bomber" keeps
                # "suicide bomb*"), but negation still silences it.
                if sent_factor.get(si, 1.0) > 0:
                    seen[si] = seen.get(si, 0) | mask
            else:
                last = -ne
                vetoed.add(si)  # an exclusion: it only shadows, and vetoes combos
            continue
        last = -ne
        f = sent_factor.get(si, 1.0)
        if f <= 0:
            continue
        if mask:
            seen[si] = seen.get(si, 0) | mask
        if si in level_sents:
            # The advisory's stated risks ("due to crime, unrest and health").
            if risk:
                w = 1.0
            w *= risk_x
        # Weak terms only add up: a type needs at least one strong term (or a stated risk, or a
        # combo below).
        if w >= 1.0:
            strong = True
        if s < tlen:
            w *= title_x
        score += w * f
        sents.add(si)
        if len(spans) < MAX_EVIDENCE:
            spans.append((s, -ne))
    return _Tally(score, strong, sents, spans, seen, vetoed)


def _add_combos(tally: _Tally, combos: tuple[int, ...], hits: list[TermHit], reading: Reading,
                title_x: float) -> None:
    """One term of every group of a combo in one sentence ("Gunmen attack police post"): as one
    strong term of that sentence."""
    starts, sent_factor = reading.starts, reading.sent_factor
    sents, spans = tally.sents, tally.spans
    for si, got in tally.seen.items():
        if si in tally.vetoed or not any(got & c == c for c in combos):
            continue
        tally.strong = True
        w = sent_factor.get(si, 1.0) * (title_x if starts[si] < reading.title_end else 1.0)
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
