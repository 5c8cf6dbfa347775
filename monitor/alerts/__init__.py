"""Alerts stage: evaluate the config's alert rules against classified items.

Rules are compiled once (region names resolved to ids, threats and sources checked, keywords
turned into one regex per condition) and indexed by the regions or threats an item must have, so
that an item is only tested against the rules that could possibly want it; site and trip rules
that ask for little else skip the general test (the site locator and the legs' places did the
choosing, and there are thousands of such pairs). The hierarchy needs no work here: an item's
region set already holds the ancestors of every place it is about (a city brings its subdivision,
country, subregion and continent), so a rule on ``AZ`` meets an item about Baku, and a rule on
``western-asia`` meets an item about Azerbaijan, by plain set overlap.

Validation problems are ConfigErrors located in the config file, all of them at once.
"""

from monitor.alerts.compiling import compile_rules
from monitor.alerts.matching import (
    DEFAULT_THREATS,
    CompiledRule,
    Condition,
    Leg,
    Match,
    Matcher,
    RegionResolver,
)
from monitor.models import ItemFacts

__all__ = ["DEFAULT_THREATS", "CompiledRule", "Condition", "ItemFacts", "Leg", "Match", "Matcher", "RegionResolver",
           "compile_rules"]
