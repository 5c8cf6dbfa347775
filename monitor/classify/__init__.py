"""Classify stage: the countries and regions, threats and severity of an item's text.

Rules (``rules/*.yaml`` plus the user's folders) are read with their lines (``rules``), compiled
into one Aho-Corasick automaton over the gazetteer's places and the taxonomy's terms and cached on
disk (``compiled``); ``Engine`` (``engine``) classifies one text in steps: ``reading``,
``threatscore``, ``places``, ``severity``. ``ruletests`` runs and checks the rules' test cases
(``rules check|test``); ``batch`` and ``inputs`` serve the ``classify`` command.

Only what every user of the engine loads anyway is imported here, so the ``classify`` command
starts no slower: the rule tests and the batch runner are imported from their modules.
"""

from monitor.classify.compiled import CompiledRules, compile_rules, load_compiled
from monitor.classify.engine import Engine, load_engine
from monitor.classify.gazetteer import Gazetteer, Region, RegionLookupError
from monitor.classify.rules import read_rule_sources, rules_version
from monitor.models import Classification, RegionHit, ThreatHit

__all__ = ["Classification", "CompiledRules", "Engine", "Gazetteer", "Region", "RegionHit", "RegionLookupError",
           "ThreatHit", "compile_rules", "load_compiled", "load_engine", "read_rule_sources", "rules_version"]
