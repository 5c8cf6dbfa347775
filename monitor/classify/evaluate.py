"""Scoring the rules against a labelled set (``advisory-monitor rules eval``): how often the threats,
the primary countries and the severity the engine gives agree with a careful reader's labels.

A labelled set is a JSON array or JSON Lines of passages in the shape of the labelling guide's
development set: ``text`` (and optionally ``title``; without one the passage is read like a file
given to ``classify``: first non-empty line the title), ``countries`` (primary, ISO alpha-2),
``mentioned_only`` (countries named in passing), ``threats`` (type ids) and ``severity``. A key that
is absent leaves the passage out of that figure; ``id`` names the passage in the report.

Figures: per threat type precision, recall and F1 with their micro totals; countries F1 twice (a
mentioned-only country found as primary ignored, and counted as wrong); severity exact and within
one level. The worst passages come with the evidence behind each error (terms and their sentences).
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.classify.engine import Engine
from monitor.classify.fold import sentence_starts
from monitor.classify.inputs import split_article
from monitor.errors import UsageError
from monitor.models import Severity
from monitor.sources.extract import Boilerplate

_SEVERITIES = [s.value for s in Severity]


@dataclass(frozen=True, slots=True)
class Passage:
    """One labelled passage; ``None`` for a label the set does not give."""

    id: str
    title: str
    text: str
    countries: frozenset[str] | None
    mentioned: frozenset[str]
    threats: frozenset[str] | None
    severity: str | None


@dataclass(slots=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, found: set[str], wanted: set[str], ignored: frozenset[str] = frozenset()) -> None:
        self.tp += len(found & wanted)
        self.fp += len(found - wanted - ignored)
        self.fn += len(wanted - found)

    def figures(self) -> dict[str, float | int]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(f1, 3),
                "tp": self.tp, "fp": self.fp, "fn": self.fn}


@dataclass(slots=True)
class Miss:
    """What one passage got wrong, each error with its evidence."""

    id: str
    weight: int
    errors: list[str]


@dataclass(slots=True)
class Evaluation:
    source: str
    passages: int = 0
    threats: dict[str, Counts] = field(default_factory=dict)
    countries_lenient: Counts = field(default_factory=Counts)
    countries_strict: Counts = field(default_factory=Counts)
    severity_cases: int = 0
    severity_exact: int = 0
    severity_within_one: int = 0
    misses: list[Miss] = field(default_factory=list)
    unknown_types: set[str] = field(default_factory=set)

    def threat_micro(self) -> Counts:
        total = Counts()
        for c in self.threats.values():
            total.tp, total.fp, total.fn = total.tp + c.tp, total.fp + c.fp, total.fn + c.fn
        return total

    def figures(self) -> dict[str, Any]:
        n = max(self.severity_cases, 1)
        return {
            "passages": self.passages,
            "threats": {t: c.figures() for t, c in sorted(self.threats.items())},
            "threats_micro": self.threat_micro().figures(),
            "countries_mentioned_ignored": self.countries_lenient.figures(),
            "countries_mentioned_wrong": self.countries_strict.figures(),
            "severity": {"cases": self.severity_cases, "exact": round(self.severity_exact / n, 3),
                         "within_one": round(self.severity_within_one / n, 3)},
        }

    def worst(self, limit: int) -> list[Miss]:
        return sorted(self.misses, key=lambda m: -m.weight)[:limit]

    def as_dict(self, limit: int = 10) -> dict[str, Any]:
        out = {"source": self.source, **self.figures()}
        out["unknown_threat_types"] = sorted(self.unknown_types)
        out["worst"] = [{"id": m.id, "errors": m.errors} for m in self.worst(limit)]
        return out

    def lines(self, limit: int = 10) -> list[str]:
        f = self.figures()
        out = [f"{self.source}: {self.passages} passages"]
        out.append(f"  {'threat type':<22} {'P':>5} {'R':>5} {'F1':>5} {'tp':>4} {'fp':>4} {'fn':>4}")
        rows = [*f["threats"].items(), ("micro", f["threats_micro"])]
        for name, x in rows:
            out.append(f"  {name:<22} {x['precision']:5.2f} {x['recall']:5.2f} {x['f1']:5.2f} "
                       f"{x['tp']:4d} {x['fp']:4d} {x['fn']:4d}")
        for key, label in (("countries_mentioned_ignored", "mentioned-only named primary ignored"),
                           ("countries_mentioned_wrong", "mentioned-only named primary counts wrong")):
            x = f[key]
            out.append(f"countries ({label}): P {x['precision']:.3f} R {x['recall']:.3f} F1 {x['f1']:.3f}")
        s = f["severity"]
        out.append(f"severity: exact {s['exact']:.3f}, within one level {s['within_one']:.3f} ({s['cases']} passages)")
        if self.unknown_types:
            out.append(f"labels name threat types these rules do not have: {', '.join(sorted(self.unknown_types))}")
        worst = [m for m in self.worst(limit) if m.weight > 0]
        if worst:
            out.append(f"worst {len(worst)} passages:")
            for m in worst:
                out.append(f"  {m.id} ({m.weight} error{'s' if m.weight != 1 else ''})")
                out.extend(f"    {e}" for e in m.errors)
        return out


# -- reading a labelled set ------------------------------------------------------------------------

def load_passages(path: Path, boilerplate: Boilerplate | None = None) -> list[Passage]:
    """The passages of a JSON array or JSON Lines file. Raises UsageError naming the file and the
    line or entry of the first bad one."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    records: list[tuple[str, Any]] = []
    if raw.lstrip().startswith("["):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
        records = [(f"{path}: entry {i}", rec) for i, rec in enumerate(data)]
    else:
        for n, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append((f"{path}:{n}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise UsageError(f"{path}:{n}: not valid JSON: {exc.msg}",
                                 "a labelled set is a JSON array or one JSON object per line") from exc
    return [_passage(where, i, rec, boilerplate) for i, (where, rec) in enumerate(records)]


def _labels(where: str, rec: dict[str, Any], key: str) -> frozenset[str] | None:
    value = rec.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{where}: {key}: expected a list of strings")
    return frozenset(value)


def _passage(where: str, i: int, rec: Any, boilerplate: Boilerplate | None) -> Passage:
    if not isinstance(rec, dict) or not isinstance(rec.get("text"), str):
        raise UsageError(f"{where}: expected an object with a `text` string",
                         "keys: id, title, text, countries, mentioned_only, threats, severity")
    severity = rec.get("severity")
    if severity is not None and severity not in _SEVERITIES:
        raise UsageError(f"{where}: severity: unknown severity {severity!r} (one of {', '.join(_SEVERITIES)})")
    if isinstance(rec.get("title"), str):
        title, text = rec["title"], rec["text"]
    else:
        title, text = split_article(rec["text"], boilerplate)
    return Passage(str(rec.get("id", f"#{i + 1}")), title, text, _labels(where, rec, "countries"),
                   _labels(where, rec, "mentioned_only") or frozenset(), _labels(where, rec, "threats"), severity)


# -- scoring ---------------------------------------------------------------------------------------

def evaluate(engine: Engine, passages: Sequence[Passage], source: str = "") -> Evaluation:
    """Classify every passage and score what the engine says against its labels."""
    ev = Evaluation(source, len(passages))
    known = set(engine.threat_types)
    for t in engine.threat_types:
        ev.threats[t] = Counts()
    for p in passages:
        data = engine.analyse(p.title, p.text)
        full = f"{p.title}\n\n{p.text}"
        errors: list[str] = []
        weight = 0
        if p.threats is not None:
            ev.unknown_types |= p.threats - known
            weight += _score_threats(ev, data, p.threats, full, errors)
        if p.countries is not None:
            weight += _score_countries(ev, data, p, errors)
        if p.severity is not None:
            weight += _score_severity(ev, data, p.severity, errors)
        ev.misses.append(Miss(p.id, weight, errors))
    return ev


def _sentence(full: str, starts: list[int], at: int) -> str:
    si = bisect_right(starts, at) - 1
    end = starts[si + 1] if si + 1 < len(starts) else len(full)
    text = " ".join(full[starts[si]:end].split())
    return text if len(text) <= 160 else text[:157] + "..."


def _score_threats(ev: Evaluation, data: dict[str, Any], wanted: frozenset[str], full: str,
                   errors: list[str]) -> int:
    found = {t["type"]: t for t in data["threats"]}
    for t in set(found) | wanted:
        ev.threats.setdefault(t, Counts()).add({t} & set(found), {t} & wanted)
    starts = sentence_starts(full)
    for t in sorted(set(found) - wanted):
        hit = found[t]
        terms = ", ".join(repr(e["text"]) for e in hit["evidence"][:4])
        first = hit["evidence"][0]["start"] if hit["evidence"] else 0
        errors.append(f"threat {t} found, not labelled (score {hit['score']:g}): {terms} "
                      f"in \"{_sentence(full, starts, first)}\"")
    for t in sorted(wanted - set(found)):
        errors.append(f"threat {t} labelled, not found")
    return len(set(found) ^ wanted)


def _score_countries(ev: Evaluation, data: dict[str, Any], p: Passage, errors: list[str]) -> int:
    assert p.countries is not None
    found = set(data["countries"])
    ev.countries_lenient.add(found, set(p.countries), p.mentioned)
    ev.countries_strict.add(found, set(p.countries))
    regions = {r["id"]: r for r in data["regions"]}
    for c in sorted(found - p.countries):
        why = "labelled mentioned only" if c in p.mentioned else "not labelled"
        ev_text = ", ".join(repr(e["text"]) for e in regions[c]["evidence"][:4]) if c in regions else ""
        errors.append(f"country {c} primary, {why}: {ev_text}")
    for c in sorted(p.countries - found):
        where = f"found as mentioned (score {regions[c]['score']:g})" if c in regions else "not found"
        errors.append(f"country {c} labelled primary, {where}")
    return len(found ^ p.countries)


def _score_severity(ev: Evaluation, data: dict[str, Any], wanted: str, errors: list[str]) -> int:
    got = data["severity"]
    gap = abs(_SEVERITIES.index(got) - _SEVERITIES.index(wanted))
    ev.severity_cases += 1
    ev.severity_exact += gap == 0
    ev.severity_within_one += gap <= 1
    if gap:
        said = ", ".join(repr(e["text"]) for e in data["severity_evidence"]) or "the threats' base"
        errors.append(f"severity {got}, labelled {wanted}: from {said}")
    return gap
