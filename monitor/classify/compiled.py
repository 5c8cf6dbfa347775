"""The compiled rules: one Aho-Corasick automaton over every place name, threat term and cue.

``compile_rules`` builds ``CompiledRules`` from read rule files; ``load_compiled`` returns them from
an on-disk cache keyed by the rules' hash, compiling and caching them when the cache is stale. The
engine (``monitor.classify.engine``) reads texts with them.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.classify.fold import scan_form, scan_key
from monitor.classify.gazetteer import DEMONYM, PEOPLE, Gazetteer, NameCandidate, build_gazetteer, owner_of
from monitor.classify.rules import RuleSources, as_list, read_rule_sources, rules_version
from monitor.classify.threats import (
    CUE_ISSUER,
    CUE_NEGATOR,
    CUE_YEAR,
    NEGATORS,
    YEARS,
    Taxonomy,
    TermEntry,
    build_taxonomy,
)
from monitor.errors import Problem, RuleError
from monitor.support.yamlpos import line_of

log = logging.getLogger(__name__)

# Scoring defaults; regions.yaml `scoring:` may override any of them.
DEFAULT_SCORING: dict[str, float] = {
    "title": 3.0,  # a place in the title counts this many times
    "lede": 1.5,  # ... in the first lede_chars of the body
    "threat_sentence": 1.5,  # ... in a sentence that names a threat
    "preposition": 1.3,  # ... right after "in", "near", "to"...
    "demonym": 0.6,  # "Azerbaijani forces"
    "people": 0.3,  # "Americans"
    "actor": 0.15,  # "the US Embassy", "Russian President"
    "primary_ratio": 0.15,  # primary when at least this share of the top country's score
    "primary_ratio_single": 0.25,  # ... or this share for a country named once, outside the title
    "primary_min": 1.5,  # ... and at least this score
    "title_threat": 2.0,  # a threat term in the title counts this many times
    "risk_list": 3.0,  # a threat term in the sentence stating an advisory level
    "dated_event": 0.3,  # a threat term named by its year ("the 2011 uprising"): a past event
}

# Record in the automaton: (key length, prefix key, places, terms, cues), where places is
# (candidates best first, union of their flags, all nationality nouns, all adjectives, owner country)
# and terms are (threat, weight, flags (HIT_RISK, HIT_EFFECT), combo mask): plain tuples, unpacked once per match.
PlaceRecord = tuple[tuple[NameCandidate, ...], int, bool, bool, str]
Record = tuple[int, bool, PlaceRecord | None,
               tuple[tuple[int, float, int, int], ...] | None, tuple[tuple[int, int, bool], ...] | None]


@dataclass
class CompiledRules:
    version: str
    automaton: Any
    records: list[Record]
    gazetteer: Gazetteer
    taxonomy: Taxonomy
    person_titles: frozenset[str]
    given_names: frozenset[str]
    prepositions: frozenset[str]
    actor_pattern: str
    scoring: dict[str, float] = field(default_factory=dict)
    compound_prefixes: frozenset[str] = frozenset()
    admin_words: frozenset[str] = frozenset()
    agent_words: frozenset[str] = frozenset()
    mission_words: tuple[str, ...] = ()
    origin_nouns: frozenset[str] = frozenset()
    not_place_phrases: frozenset[str] = frozenset()
    # Regex matched right before a place name (on the scan form): the place is named in passing.
    passing_pattern: str = r"$^"
    passing_last: frozenset[str] = frozenset()
    passing_tails: frozenset[str] = frozenset()  # their last two words (or the one word)
    # The countries each advisory issuer's name may stand for ("FCDO": GB; "Department of Foreign
    # Affairs and Trade": AU or IE, whichever the text names).
    issuers: list[frozenset[str]] = field(default_factory=list)
    build_seconds: float = 0.0


def _words(sources: RuleSources, key: str) -> frozenset[str]:
    out: set[str] = set()
    for rf in sources.files.get("regions.yaml", []):
        ctx = rf.data.get("context") or {}
        if isinstance(ctx, dict):
            out.update(" ".join(scan_form(str(x)).split()) for x in as_list(ctx.get(key)))
    return frozenset(out)


def _context(sources: RuleSources) -> tuple[set[str], set[str], set[str], str, dict[str, float]]:
    speech: set[str] = set()
    gap: set[str] = set()
    titles: set[str] = set()
    given: set[str] = set()
    preps: set[str] = set()
    actors: set[str] = set()
    scoring = dict(DEFAULT_SCORING)
    for rf in sources.files.get("regions.yaml", []):
        ctx = rf.data.get("context") or {}
        if isinstance(ctx, dict):
            titles.update(str(x).lower() for x in as_list(ctx.get("person_titles")))
            given.update(str(x).lower() for x in as_list(ctx.get("given_names")))
            preps.update(str(x).lower() for x in as_list(ctx.get("place_prepositions")))
            actors.update(" ".join(scan_form(str(x)).split()) for x in as_list(ctx.get("actor_words")))
            speech.update(" ".join(scan_form(str(x)).split()) for x in as_list(ctx.get("speech_verbs")))
            gap.update(" ".join(scan_form(str(x)).split()) for x in as_list(ctx.get("speech_gap")))
        block = rf.data.get("scoring") or {}
        if isinstance(block, dict):
            for key, value in block.items():
                if key not in DEFAULT_SCORING:
                    raise RuleError([Problem(str(rf.path), line_of(block, key), None, f"scoring.{key}",
                                             f"unknown setting (one of {', '.join(DEFAULT_SCORING)})")])
                scoring[str(key)] = float(value)
    return titles, given, preps, _actor_pattern(actors, speech, gap), scoring


def _alternation(words: set[str]) -> str:
    """One regex for any of ``words``, as a trie: the regex engine tries a flat list of a hundred
    alternatives one by one at every place name, but a trie only along the letters that are there.
    Longer words are tried before their prefixes ("nationals" before "national"), as in a list sorted
    longest first."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}
    return _trie_regex(trie)


def _trie_regex(node: dict[str, Any]) -> str:
    ends = "" in node
    branches = [re.escape(ch) + _trie_regex(child) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends:
        # Greedy: the longer word first, the word that ends here when it fails.
        return body + "?" if len(branches) == 1 and len(branches[0]) == 1 else f"(?:{body})?"
    return body


def _actor_pattern(actors: set[str], speech: set[str], gap: set[str]) -> str:
    """Regex matched right after a place name: it names an actor or a speaker, not a location."""
    parts = []
    if actors:
        # "Turkish-made drones", "Saudi-led coalition"; "US and British jets": one actor word serves both.
        made = r"(?:\s+(?:made|backed|led|based|owned|supplied|built|funded|trained|allied|aligned|controlled))?"
        both = r"(?:\s+and\s+[a-z]+)?"
        parts.append(r"(?: s)?" + both + made + r"\s+(?:" + _alternation(actors) + r")\b")
    if speech:
        gaps = r"(?:\s+(?:" + _alternation(gap) + r")){0,3}" if gap else ""
        parts.append(gaps + r"\s+(?:" + _alternation(speech) + r")\b")
    return "|".join(parts) or r"$^"


def _issuers(sources: RuleSources, gaz: Gazetteer) -> tuple[list[tuple[str, frozenset[str]]], list[Problem]]:
    """(phrase, countries) of every advisory issuer's name in regions.yaml `issuers:` (country: names)."""
    by_phrase: dict[str, set[str]] = {}
    problems: list[Problem] = []
    for rf in sources.files.get("regions.yaml", []):
        block = rf.data.get("issuers") or {}
        if not isinstance(block, dict):
            problems.append(rf.problem(rf.data, "issuers", "issuers", "expected a mapping of country: [names]"))
            continue
        for code, names in block.items():
            region = gaz.regions.get(str(code))
            if region is None or region.kind != "country":
                problems.append(rf.problem(block, code, f"issuers.{code}", f"unknown country '{code}'"))
                continue
            for name in as_list(names):
                by_phrase.setdefault(" ".join(str(name).split()), set()).add(region.id)
    return [(phrase, frozenset(codes)) for phrase, codes in sorted(by_phrase.items())], problems


def _passing_pattern(phrases: frozenset[str]) -> str:
    """Regex that ends right before a place name named in passing: "the Embassy of (Ireland)",
    "felt as far as (Taipei)", "talks in (Geneva)", "beat (Lebanon)"; an optional "the" between."""
    if not phrases:
        return r"$^"
    return r"(?:^| )" + _alternation(set(phrases)) + r" +(?:the +)?\Z"


def compile_rules(sources: RuleSources) -> tuple[CompiledRules | None, list[Problem]]:
    """Compile read rule files into the matcher; returns every problem found along the way."""
    import ahocorasick

    t0 = time.perf_counter()
    problems = list(sources.problems)
    gaz, names, gproblems = build_gazetteer(sources)
    tax, tproblems = build_taxonomy(sources)
    problems += gproblems + tproblems
    try:
        titles, given, preps, actor_pattern, scoring = _context(sources)
    except RuleError as exc:
        problems += exc.problems
        titles, given, preps, actor_pattern, scoring = set(), set(), set(), r"$^", dict(DEFAULT_SCORING)
    # One automaton key per (phrase, whole-word or prefix): " name " or " prefix".
    slots: dict[str, tuple[list[NameCandidate], list[TermEntry], list[tuple[int, int, bool]]]] = {}
    for key, cands in names.items():
        slots.setdefault(scan_key(key), ([], [], []))[0].extend(cands)
    for key, entries in tax.terms.items():
        for entry in entries:
            slots.setdefault(scan_key(key, entry.prefix), ([], [], []))[1].append(entry)
    for key, cues in tax.cues.items():
        for cue in cues:
            slots.setdefault(scan_key(key, cue[2]), ([], [], []))[2].append(cue)
    issuers, iproblems = _issuers(sources, gaz)
    problems += iproblems
    for i, (phrase, _codes) in enumerate(issuers):
        slots.setdefault(scan_key(phrase), ([], [], []))[2].append((CUE_ISSUER, i, False))
    for kind, words in ((CUE_NEGATOR, sorted(NEGATORS)), (CUE_YEAR, YEARS)):
        for word in words:
            slots.setdefault(scan_key(word), ([], [], []))[2].append((kind, 0, False))
    automaton = ahocorasick.Automaton()
    records: list[Record] = []
    for akey, (place, terms, cues) in slots.items():
        if not akey.strip():
            continue
        place_rec = None
        if place:
            place.sort(key=lambda cd: -cd.prior)
            union = 0
            for cd in place:
                union |= cd.flags
            place_rec = (tuple(place), union, all(cd.flags & PEOPLE for cd in place),
                         all(cd.flags & DEMONYM for cd in place), owner_of(place, gaz.order))
        records.append((len(akey), not akey.endswith(" "), place_rec,
                        tuple((te.threat, te.weight, int(te.risk) | (int(te.effect) << 1), te.mask) for te in terms)
                        if terms else None,
                        tuple(cues) if cues else None))
        automaton.add_word(akey, len(records) - 1)
    automaton.make_automaton()
    compiled = CompiledRules(sources.version, automaton, records, gaz, tax, frozenset(titles),
                             frozenset(given), frozenset(preps), actor_pattern, scoring)
    _add_context(compiled, sources)
    compiled.issuers = [codes for _phrase, codes in issuers]
    compiled.build_seconds = time.perf_counter() - t0
    return compiled, problems


def _add_context(compiled: CompiledRules, sources: RuleSources) -> None:
    """The word lists of regions.yaml `context:` that the place reader looks words up in."""
    compiled.compound_prefixes = _words(sources, "compound_prefixes")
    compiled.admin_words = _words(sources, "admin_words")
    compiled.agent_words = _words(sources, "agent_prepositions")
    compiled.mission_words = tuple(sorted(_words(sources, "mission_words")))
    compiled.origin_nouns = _words(sources, "origin_nouns")
    compiled.not_place_phrases = _words(sources, "not_place_phrases")
    passing = _words(sources, "passing_before")
    compiled.passing_pattern = _passing_pattern(passing)
    compiled.passing_last = frozenset(p.split()[-1] for p in passing if p.split())
    compiled.passing_tails = frozenset(" ".join(p.split()[-2:]) for p in passing if p.split())


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "advisory-monitor"


def _read_cache(path: Path, version: str) -> CompiledRules | None:
    try:
        with path.open("rb") as fh:
            compiled = pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception as exc:  # a torn or foreign file: rebuild rather than fail
        log.debug("ignoring unreadable rules cache %s: %s", path, exc)
        return None
    if not isinstance(compiled, CompiledRules) or compiled.version != version:
        return None
    return compiled


def _write_cache(path: Path, compiled: CompiledRules) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".rules-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(compiled, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        # A read-only home or cache folder costs a rebuild per run, never a failure.
        log.debug("rules cache not written to %s: %s", path, exc)


def load_compiled(rule_dirs: Sequence[Path] = (), cache_dir: Path | None = None) -> CompiledRules:
    version = rules_version(rule_dirs)
    cache = (cache_dir or default_cache_dir()) / f"rules-{version}.pickle"
    compiled = _read_cache(cache, version)
    if compiled is not None:
        return compiled
    sources = read_rule_sources(rule_dirs)
    if sources.problems:
        raise RuleError(sources.problems, hint="run `advisory-monitor rules check`")
    compiled, problems = compile_rules(sources)
    if problems or compiled is None:
        raise RuleError(problems, hint="run `advisory-monitor rules check`")
    _write_cache(cache, compiled)
    return compiled


__all__ = ["DEFAULT_SCORING", "CompiledRules", "PlaceRecord", "Record", "compile_rules", "load_compiled"]
