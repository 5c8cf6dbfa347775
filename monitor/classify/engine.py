"""The classification engine: regions, threats and severity of one text, from the compiled rules.

``load_engine`` returns an ``Engine`` for the shipped rules plus the user's folders (compiled, or
from the on-disk cache: see ``monitor.classify.compiled``). ``Engine.classify(title, text)`` returns
a ``Classification`` whose evidence offsets index into ``title + "\\n\\n" + text`` (the item's title,
a blank line, then its extracted text).

How a call is made, in order, one module per step:
1. ``reading``: one automaton pass over the scan form of the text, and each sentence's context.
2. ``threatscore``: threats per type, leftmost-longest among its terms and exclusions, weighed by
   their sentence.
3. ``places``: capitalised place names that context does not rule out, weighed by where they stand
   and what they name (a location, an actor, a nationality), resolved to regions; countries add up
   their places.
4. ``severity``: an overall official level (in the title or lede, or said of the text's country)
   fixes it; else the highest of partial levels (one step lower), raisers and the threats' base; no
   threat and no level is none.

Between 3 and 4, sentences whose places all lie in countries the text only mentions are background:
the threats are scored again without them.

The hot path builds plain dicts; ``classify`` validates them into a ``Classification`` once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from monitor.classify.compiled import CompiledRules, load_compiled
from monitor.classify.gazetteer import Gazetteer, Region
from monitor.classify.mentions import Mention
from monitor.classify.places import PlaceReader
from monitor.classify.reading import Reading, read_text
from monitor.classify.severity import decide_severity
from monitor.classify.threatscore import KeptTallies, ThreatFound, score_threats
from monitor.errors import RuleError
from monitor.models import Classification


class Engine:
    """Classifies texts with one compiled rule set. Cheap to call; build it with load_engine."""

    def __init__(self, compiled: CompiledRules) -> None:
        self.compiled = compiled
        self.version: str = compiled.version
        self.gazetteer: Gazetteer = compiled.gazetteer
        self.threat_types = [t.id for t in compiled.taxonomy.types]
        self._places = PlaceReader(compiled)

    # -- the gazetteer questions alert rules ask ---------------------------------------------------
    def region(self, name_or_id: str) -> Region:
        """The one region an id, name or alias means; RegionLookupError lists candidates."""
        return self.gazetteer.lookup(name_or_id)

    def resolve(self, name_or_id: str) -> list[Region]:
        return self.gazetteer.resolve(name_or_id)

    def ancestors(self, region_id: str) -> set[str]:
        return self.gazetteer.ancestors(region_id)

    # -- classification ----------------------------------------------------------------------------
    def classify(self, title: str, text: str) -> Classification:
        """Regions, threats and severity of one item. Evidence offsets index into
        ``title + "\\n\\n" + text``."""
        return Classification.model_validate(self.analyse(title, text))

    def analyse(self, title: str, text: str) -> dict[str, Any]:
        """``classify`` as plain data (the shape of Classification), for callers that only serialise."""
        compiled = self.compiled
        reading = read_text(compiled, title, text)
        kept = KeptTallies()
        found, threat_sents = score_threats(compiled.taxonomy.types, compiled.scoring, reading, kept)
        mentions = self._places.read(reading, threat_sents)
        regions, countries = self._places.score(reading, mentions)
        elsewhere = _elsewhere_sentences(reading, mentions, set(countries))
        if elsewhere:
            # A threat in a country the text only mentions is background (THREATS.md R2): its
            # sentences count for nothing, for threats and for severity.
            for si in elsewhere:
                reading.sent_factor[si] = 0.0
            if elsewhere & threat_sents:
                found, threat_sents = score_threats(compiled.taxonomy.types, compiled.scoring, reading, kept,
                                                    elsewhere)
        _add_threat_regions(found, mentions)
        threats = [hit for hit, _sents in found]
        local_sents = {m.sent for m in mentions if m.region is not None and m.region.kind in ("city", "region")}
        country_sents = {m.sent for m in mentions if countries and m.region is not None
                         and m.region.id == countries[0] and not (m.actor or m.people)}
        severity, evidence = decide_severity(compiled.taxonomy, self.threat_types, reading, threats,
                                             local_sents, country_sents)
        return {
            "title": title,
            "countries": countries,
            "regions": regions,
            "threats": threats,
            "severity": severity,
            "severity_evidence": evidence,
            "rules_version": self.version,
        }


def _add_threat_regions(found: list[ThreatFound], mentions: list[Mention]) -> None:
    """Each threat's regions: the places located (not acting) in the sentences that name it."""
    for threat, sents in found:
        ids: list[str] = threat["regions"]
        for mention in mentions:
            region = mention.region
            if mention.sent in sents and not mention.actor and region is not None and region.id not in ids:
                ids.append(region.id)


# "along the border with Burkina Faso and Niger": the neighbours name a border, not where it happens.
_BORDER_WITH = re.compile(r"\b(?:borders?|frontiers?|boundary)(?: areas?| regions?)? (?:with|of) (?:the )?"
                          r"(?:[A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*)*(?:, | and | or ))*\Z")


def _elsewhere_sentences(reading: Reading, mentions: list[Mention], primary: set[str]) -> set[int]:
    """Sentences whose places all lie in countries the text only mentions. A neighbour named for
    its border ("near the Peruvian border") locates nothing, and a sentence stating an advisory
    level speaks of the advisory's place."""
    if not primary:
        return set()
    owners: dict[int, set[str]] = {}
    full, level_sents = reading.full, reading.level_sents
    for m in mentions:
        region = m.region
        # (a place named in passing is still a place: "bombings in neighbouring Burkina Faso")
        if region is None or m.actor or (m.people and not m.passing) or m.sent in level_sents:
            continue
        if full[m.end + 1:m.end + 2] in "bBfF" and full[m.end:m.end + 7].lower() in (" border", " fronti"):
            continue
        before = full[m.start - 80 if m.start > 80 else 0:m.start]
        if ("order" in before or "rontier" in before or "oundary" in before) and _BORDER_WITH.search(before):
            continue
        owner = region.id if region.kind == "country" else region.country
        if owner is None:
            continue  # a continent or a region of several countries says nothing here
        owners.setdefault(m.sent, set()).add(owner)
    return {si for si, named in owners.items() if not named & primary}


def load_engine(rule_dirs: Sequence[Path] = (), cache_dir: Path | None = None) -> Engine:
    """The engine for the shipped rules plus ``rule_dirs``, from the on-disk cache when it is
    current (keyed by the rules' hash), else compiled and cached. Raises RuleError listing every
    problem when the rules are invalid."""
    return Engine(load_compiled(rule_dirs, cache_dir))


# The engine of a process that classifies for another (monitor.service.classifying runs one): loaded
# by the first call, kept for the next ones.
_SERVED: dict[str, Engine] = {}


def serve_version(rule_dirs: Sequence[Path], cache_dir: Path, version: str) -> bool:
    """Load the engine of ``version`` into this process, once; False when the rules on disk are
    no longer that version (changed, or now invalid) since the caller loaded them."""
    if version in _SERVED:
        return True
    try:
        engine = load_engine(rule_dirs, cache_dir)
    except RuleError:
        return False
    if engine.version != version:
        return False
    _SERVED.clear()
    _SERVED[version] = engine
    return True


def classify_served(version: str, title: str, text: str) -> Classification:
    """``classify`` by the engine ``serve_version`` loaded into this process."""
    return _SERVED[version].classify(title, text)


__all__ = ["Classification", "Engine", "classify_served", "load_engine", "serve_version"]
