"""The threat taxonomy and severity rules, compiled from ``threats.yaml`` and ``severity.yaml``.

Produces plain tables keyed by folded phrase, which the engine puts into its one automaton:
threat terms (with weights, ``*`` suffix for any word ending, exclusions that shadow terms),
sentence modifiers (historical, hypothetical, negation) and severity cues (official levels,
partial-country markers, raisers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from monitor.classify.fold import fold_name
from monitor.classify.rules import RuleFile, RuleSources, as_list
from monitor.errors import Problem
from monitor.models import Severity
from monitor.support.userregex import UserRegex, UserRegexError, compile_alternatives, compile_user_regex, shown

STRONG_WEIGHT = 1.0
WEAK_WEIGHT = 0.35

# Cue kinds in the automaton.
CUE_MODIFIER = 0  # value: modifier index
CUE_LEVEL = 1  # value: severity rank
CUE_RAISER = 2  # value: severity rank
CUE_PARTIAL = 3  # value: 0
CUE_ISSUER = 4  # value: index into CompiledRules.issuers (an advisory issuer's name: "FCDO")
# Marks the reading keeps apart from the cues (value: 0): a negation word ("no kidnapped tourists"),
# a year ("the 2011 uprising"). Finding them in the one automaton pass costs less than a regex scan.
CUE_NEGATOR = 5
CUE_YEAR = 6
NEGATORS = frozenset("no not never nor without non t".split())
YEARS = tuple(str(year) for year in range(1900, 2100))

SEVERITY_NAMES = [s.value for s in Severity]


class TermEntry(NamedTuple):
    threat: int  # index into Taxonomy.types
    weight: float  # 0 for an exclusion
    prefix: bool
    risk: bool = False  # names the risk itself: counts in full in an advisory's stated risk list
    mask: int = 0  # the combo groups (bits, per type) this term belongs to
    effect: bool = False  # what another event leaves behind: counts only without that event


# A term hit's flags (the third field of its automaton entry).
HIT_RISK = 1
HIT_EFFECT = 2


# Most combos a type may have (their groups share one int of bits per type).
MAX_COMBO_BITS = 60


@dataclass(frozen=True, slots=True)
class ThreatType:
    id: str
    name: str
    threshold: float
    # One mask per combo: a sentence whose terms cover every bit of one makes a strong hit.
    combos: tuple[int, ...] = ()
    # Types (indices) whose act, named in a sentence, is what that sentence reports: there this
    # type's weak terms and combos count nothing ("rebels captured eight hikers" is a kidnapping).
    yield_to: frozenset[int] = frozenset()
    # Types whose events leave this type's effect terms and effect combos behind: with one of them
    # reported in the text, those count nothing (power cuts after a hurricane are the hurricane's).
    effect_of: frozenset[int] = frozenset()
    effect_combos: tuple[int, ...] = ()


@dataclass
class Taxonomy:
    types: list[ThreatType] = field(default_factory=list)
    terms: dict[str, list[TermEntry]] = field(default_factory=dict)
    cues: dict[str, list[tuple[int, int, bool]]] = field(default_factory=dict)  # (kind, value, prefix)
    modifier_factors: list[float] = field(default_factory=list)
    modifier_names: list[str] = field(default_factory=list)
    # The `regexes:` of every type as one RE2 pattern (linear in the text whatever a user wrote).
    regex: UserRegex | None = None
    regex_types: dict[str, int] = field(default_factory=dict)
    lede_chars: int = 700
    casualties_critical: int = 100
    base_default: int = 1
    base_medium_types: frozenset[int] = frozenset()
    base_medium_min: float = 2.0


def _split_term(raw: Any) -> tuple[str, bool]:
    text = str(raw).strip()
    prefix = text.endswith("*")
    return fold_name(text.rstrip("*")), prefix


class _ThreatBuilder:
    def __init__(self, sources: RuleSources) -> None:
        self.sources = sources
        self.tax = Taxonomy()
        self.problems: list[Problem] = []
        self.index: dict[str, int] = {}
        self.enabled: dict[str, bool] = {}
        self.raw_terms: dict[str, list[tuple[str, bool, float, RuleFile, Any, int]]] = {}
        self.risk_terms: dict[str, set[str]] = {}
        self.raw_excl: dict[str, list[tuple[str, bool, RuleFile, Any, int]]] = {}
        self.regexes: list[tuple[str, str, RuleFile, Any, int]] = []
        self.combo_bits: dict[str, int] = {}  # bits handed out so far, per type
        self.combo_masks: dict[str, list[int]] = {}
        self.term_masks: dict[str, dict[tuple[str, bool], int]] = {}
        self.effect_keys: dict[str, set[tuple[str, bool]]] = {}
        self.effect_masks: dict[str, list[int]] = {}
        self.links: list[tuple[str, str, str, RuleFile, Any, int]] = []

    def build(self) -> Taxonomy:
        for rf in self.sources.files.get("threats.yaml", []):
            self._read_threats(rf)
        self._compile_terms()
        self._link_types()
        for rf in self.sources.files.get("threats.yaml", []):
            self._read_modifiers(rf)
        for rf in self.sources.files.get("severity.yaml", []):
            self._read_severity(rf)
        return self.tax

    def _read_threats(self, rf: RuleFile) -> None:
        block = rf.data.get("threats") or {}
        if not isinstance(block, dict):
            self.problems.append(rf.problem(rf.data, "threats", "threats", "expected a mapping of threat types"))
            return
        for tid, spec in block.items():
            tid = str(tid)
            if not re.fullmatch(r"[a-z][a-z0-9_]*", tid):
                self.problems.append(rf.problem(block, tid, f"threats.{tid}",
                                                "threat ids are lowercase words joined by _"))
                continue
            spec = spec if isinstance(spec, dict) else {}
            if tid not in self.index:
                if spec.get("enabled") is False and not spec.get("terms"):
                    self.problems.append(rf.problem(block, tid, f"threats.{tid}",
                                                    f"unknown threat type '{tid}' cannot be switched off"))
                    continue
                self.index[tid] = len(self.tax.types)
                self.tax.types.append(ThreatType(tid, str(spec.get("name", tid)),
                                                 float(spec.get("threshold", 1.0))))
            elif "threshold" in spec or "name" in spec:
                old = self.tax.types[self.index[tid]]
                self.tax.types[self.index[tid]] = ThreatType(
                    tid, str(spec.get("name", old.name)), float(spec.get("threshold", old.threshold)))
            if "enabled" in spec:
                self.enabled[tid] = bool(spec["enabled"])
            for section, weight in (("terms", STRONG_WEIGHT), ("weak_terms", WEAK_WEIGHT)):
                items = as_list(spec.get(section))
                for i, term in enumerate(items):
                    key, prefix = _split_term(term)
                    if not key:
                        self.problems.append(rf.problem(items, i, f"threats.{tid}.{section}[{i}]", "empty term"))
                        continue
                    self.raw_terms.setdefault(tid, []).append((key, prefix, weight, rf, items, i))
            self._read_combos(rf, tid, spec)
            self._read_effects(rf, tid, spec)
            items = as_list(spec.get("risk_terms"))
            for i, term in enumerate(items):
                key, prefix = _split_term(term)
                self.risk_terms.setdefault(tid, set()).add(key)
                self.raw_terms.setdefault(tid, []).append((key, prefix, WEAK_WEIGHT, rf, items, i))
            items = as_list(spec.get("exclude"))
            for i, term in enumerate(items):
                key, prefix = _split_term(term)
                if key:
                    self.raw_excl.setdefault(tid, []).append((key, prefix, rf, items, i))
            items = as_list(spec.get("remove_terms"))
            drop = {_split_term(t) for t in items}
            if drop:
                self.raw_terms[tid] = [t for t in self.raw_terms.get(tid, []) if (t[0], t[1]) not in drop]
            self._read_regexes(rf, tid, spec)

    def _read_regexes(self, rf: RuleFile, tid: str, spec: dict[str, Any]) -> None:
        items = as_list(spec.get("regexes"))
        for i, pattern in enumerate(items):
            try:
                compile_user_regex(str(pattern), ignore_case=True)
            except UserRegexError as exc:
                self.problems.append(rf.problem(items, i, f"threats.{tid}.regexes[{i}]",
                                                f"bad regex {shown(str(pattern))}: {exc}"))
                continue
            self.regexes.append((tid, str(pattern), rf, items, i))

    def _read_combos(self, rf: RuleFile, tid: str, spec: dict[str, Any], section: str = "combos") -> None:
        """`combos:` lists of term groups. Each group's terms are weak on their own; one term of every
        group in the same sentence ("gunmen" + "attacked") counts as one strong term."""
        combos = as_list(spec.get(section))
        for c, combo in enumerate(combos):
            groups = as_list(combo)
            where = f"threats.{tid}.{section}[{c}]"
            if len(groups) < 2 or not all(isinstance(g, list) and g for g in groups):
                self.problems.append(rf.problem(combos, c, where, "a combo is a list of two or more term lists"))
                continue
            first = self.combo_bits.get(tid, 0)
            if first + len(groups) > MAX_COMBO_BITS:
                self.problems.append(rf.problem(combos, c, where, f"too many combo groups (at most {MAX_COMBO_BITS})"))
                continue
            self.combo_bits[tid] = first + len(groups)
            full = 0
            masks = self.term_masks.setdefault(tid, {})
            for g, group in enumerate(groups):
                bit = 1 << (first + g)
                full |= bit
                for i, term in enumerate(group):
                    key, prefix = _split_term(term)
                    if not key:
                        self.problems.append(rf.problem(group, i, f"{where}[{g}][{i}]", "empty term"))
                        continue
                    masks[(key, prefix)] = masks.get((key, prefix), 0) | bit
                    self.raw_terms.setdefault(tid, []).append((key, prefix, 0.0, rf, group, i))
            self.combo_masks.setdefault(tid, []).append(full)

    def _compile_terms(self) -> None:
        for tid, terms in self.raw_terms.items():
            if not self.enabled.get(tid, True):
                continue
            t = self.index[tid]
            excl = self.raw_excl.get(tid, [])
            merged: dict[tuple[str, bool], float] = {}
            masks = self.term_masks.get(tid, {})
            for key, prefix, weight, rf, items, i in terms:
                for ekey, eprefix, _erf, _eitems, _ei in excl:
                    # The longest match wins, so only a term the exclusion covers whole is shadowed.
                    if key == ekey or (eprefix and key.startswith(ekey) and " " not in key[len(ekey):]):
                        if not (prefix and not eprefix and key == ekey):
                            self.problems.append(rf.problem(
                                items, i, f"threats.{tid}",
                                f"term {items[i]!r} is shadowed by the exclusion "
                                f"'{ekey}{'*' if eprefix else ''}' and can never match"))
                        break
                # A phrase listed twice (a term that is also in a combo group) keeps its highest weight.
                merged[(key, prefix)] = max(weight, merged.get((key, prefix), 0.0))
            for (key, prefix), weight in merged.items():
                risk = key in self.risk_terms.get(tid, ())
                entry = TermEntry(t, weight, prefix, risk, masks.get((key, prefix), 0),
                                  (key, prefix) in self.effect_keys.get(tid, ()))
                self.tax.terms.setdefault(key, []).append(entry)
            if tid in self.combo_masks:
                old = self.tax.types[t]
                self.tax.types[t] = ThreatType(old.id, old.name, old.threshold, tuple(self.combo_masks[tid]))
            for ekey, eprefix, _rf, _items, _i in excl:
                self.tax.terms.setdefault(ekey, []).append(TermEntry(t, 0.0, eprefix))
        self._compile_regexes()
        # A switched-off type keeps its slot (ids stay stable) but gets no terms and never fires.
        for tid, on in self.enabled.items():
            if not on and tid in self.index:
                t = self.index[tid]
                self.tax.types[t] = ThreatType(tid, self.tax.types[t].name, float("inf"))

    def _compile_regexes(self) -> None:
        patterns, names = [], []
        for n, (tid, pattern, _rf, _items, _i) in enumerate(self.regexes):
            if self.enabled.get(tid, True) and tid in self.index:
                patterns.append(pattern)
                names.append(f"r{n}")
                self.tax.regex_types[f"r{n}"] = self.index[tid]
        if not patterns:
            return
        try:
            self.tax.regex = compile_alternatives(patterns, names=names, ignore_case=True)
        except UserRegexError as exc:
            # Each compiled alone; together they can still clash (one group name used twice).
            _tid, _pattern, rf, items, i = self.regexes[-1]
            self.problems.append(rf.problem(items, i, "threats.*.regexes", f"the patterns do not combine: {exc}"))

    def _read_effects(self, rf: RuleFile, tid: str, spec: dict[str, Any]) -> None:
        """`effect_terms` (strong) and `effect_combos`: what another event leaves behind, counted only
        when none of the `effect_of` types is reported; `yield_to` and `effect_of` name other types."""
        items = as_list(spec.get("effect_terms"))
        for i, term in enumerate(items):
            key, prefix = _split_term(term)
            if not key:
                self.problems.append(rf.problem(items, i, f"threats.{tid}.effect_terms[{i}]", "empty term"))
                continue
            self.effect_keys.setdefault(tid, set()).add((key, prefix))
            self.raw_terms.setdefault(tid, []).append((key, prefix, STRONG_WEIGHT, rf, items, i))
        if spec.get("effect_combos"):
            before = len(self.combo_masks.get(tid, []))
            self._read_combos(rf, tid, spec, "effect_combos")
            self.effect_masks.setdefault(tid, []).extend(self.combo_masks.get(tid, [])[before:])
        for key in ("yield_to", "effect_of"):
            items = as_list(spec.get(key))
            self.links.extend((tid, key, str(other), rf, items, i) for i, other in enumerate(items))

    def _link_types(self) -> None:
        """Resolve `yield_to` and `effect_of` to type indices, reporting unknown types."""
        links: dict[tuple[str, str], set[int]] = {}
        for tid, key, other, rf, items, i in self.links:
            if other not in self.index:
                self.problems.append(rf.problem(items, i, f"threats.{tid}.{key}[{i}]",
                                                f"unknown threat type '{other}'"))
                continue
            links.setdefault((tid, key), set()).add(self.index[other])
        for tid, t in self.index.items():
            old = self.tax.types[t]
            self.tax.types[t] = replace(old, yield_to=frozenset(links.get((tid, "yield_to"), ())),
                                        effect_of=frozenset(links.get((tid, "effect_of"), ())),
                                        effect_combos=tuple(self.effect_masks.get(tid, ())))

    def _add_cue(self, phrase: Any, kind: int, value: int) -> None:
        key, prefix = _split_term(phrase)
        if key:
            self.tax.cues.setdefault(key, []).append((kind, value, prefix))

    def _read_modifiers(self, rf: RuleFile) -> None:
        block = rf.data.get("modifiers") or {}
        if not isinstance(block, dict):
            return
        for name, spec in block.items():
            if not isinstance(spec, dict):
                continue
            if name in self.tax.modifier_names:
                m = self.tax.modifier_names.index(name)
            else:
                m = len(self.tax.modifier_names)
                self.tax.modifier_names.append(str(name))
                self.tax.modifier_factors.append(1.0)
            if "factor" in spec:
                self.tax.modifier_factors[m] = float(spec["factor"])
            for phrase in as_list(spec.get("phrases")):
                self._add_cue(phrase, CUE_MODIFIER, m)

    def _severity_rank(self, rf: RuleFile, container: Any, key: Any, name: Any) -> int | None:
        if str(name) in SEVERITY_NAMES:
            return SEVERITY_NAMES.index(str(name))
        self.problems.append(rf.problem(container, key, str(key), f"unknown severity '{name}' "
                                        f"(one of {', '.join(SEVERITY_NAMES)})"))
        return None

    def _read_severity(self, rf: RuleFile) -> None:
        data = rf.data
        for section, kind in (("levels", CUE_LEVEL), ("raisers", CUE_RAISER)):
            block = data.get(section) or {}
            if not isinstance(block, dict):
                continue
            for sev, phrases in block.items():
                rank = self._severity_rank(rf, block, sev, sev)
                if rank is not None:
                    for phrase in as_list(phrases):
                        self._add_cue(phrase, kind, rank)
        for phrase in as_list(data.get("partial_markers")):
            self._add_cue(phrase, CUE_PARTIAL, 0)
        if "lede_chars" in data:
            self.tax.lede_chars = int(data["lede_chars"])
        if "casualties_critical" in data:
            self.tax.casualties_critical = int(data["casualties_critical"])
        base = data.get("base") or {}
        if isinstance(base, dict):
            if "default" in base:
                rank = self._severity_rank(rf, base, "default", base["default"])
                if rank is not None:
                    self.tax.base_default = rank
            types = as_list(base.get("medium_types"))
            good = set()
            for i, tid in enumerate(types):
                if str(tid) in self.index:
                    good.add(self.index[str(tid)])
                else:
                    self.problems.append(rf.problem(types, i, f"base.medium_types[{i}]",
                                                    f"unknown threat type '{tid}'"))
            if types:
                self.tax.base_medium_types = frozenset(good)
            if "medium_min_score" in base:
                self.tax.base_medium_min = float(base["medium_min_score"])


def build_taxonomy(sources: RuleSources) -> tuple[Taxonomy, list[Problem]]:
    b = _ThreatBuilder(sources)
    tax = b.build()
    return tax, b.problems
