"""Benchmark of alert matching (issue 4): 10,000 classified items against 1,000 alert rules.

Run: ``.venv/bin/python bench/match.py``. Prints the figure with a bare baseline measured in the
same run (a nested loop doing nothing but one set intersection per item and rule); asserts nothing.
The target is < 1 s for the whole match.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.alerts import DEFAULT_THREATS, ItemFacts, compile_rules
from monitor.config import Config

WORDS = ("embassy airport curfew protest border shelling hostage ransom flood earthquake strike road "
         "police ministry province capital warning citizens flight clash").split()
CONTINENTS = [f"k{i}" for i in range(5)]
SUBREGIONS = [f"s{i:02d}" for i in range(22)]
COUNTRIES = [f"C{i:03d}" for i in range(240)]
PARENT = {c: SUBREGIONS[i % len(SUBREGIONS)] for i, c in enumerate(COUNTRIES)}
CONTINENT = {s: CONTINENTS[i % len(CONTINENTS)] for i, s in enumerate(SUBREGIONS)}


def make_items(count: int, rng: random.Random) -> list[ItemFacts]:
    now = datetime(2024, 3, 1, tzinfo=UTC)
    items = []
    for i in range(count):
        regions: set[str] = set()
        for country in rng.sample(COUNTRIES, rng.choice((1, 1, 1, 2, 3))):
            cities = {f"city{rng.randint(0, 9)}-{country}"} if rng.random() < 0.5 else set()
            regions |= {country, PARENT[country], CONTINENT[PARENT[country]], *cities}
        threats = frozenset(rng.sample(DEFAULT_THREATS, rng.choice((0, 1, 1, 2, 3))))
        text = " ".join(rng.choice(WORDS) for _ in range(80))
        items.append(ItemFacts(f"item{i}", rng.choice(("news", "feed")), frozenset(regions), threats,
                               rng.randint(0, 4), now, text))
    return items


def make_rule(i: int, rng: random.Random) -> dict[str, Any]:
    kind = rng.random()
    match: dict[str, Any]
    if kind < 0.7:
        match = {"regions": rng.sample(COUNTRIES, rng.randint(1, 5)),
                 "threats": rng.sample(DEFAULT_THREATS, rng.randint(1, 3)),
                 "min_severity": rng.choice(("low", "medium", "high"))}
    elif kind < 0.8:
        match = {"regions": [rng.choice(SUBREGIONS)], "threats": rng.sample(DEFAULT_THREATS, 2)}
    elif kind < 0.9:
        match = {"regions": rng.sample(COUNTRIES, 3), "keywords": rng.sample(WORDS, 2),
                 "exclude_keywords": [rng.choice(WORDS)]}
    else:
        match = {"any": [{"regions": rng.sample(COUNTRIES, 2), "threats": ["terrorism"]},
                         {"regions": [rng.choice(SUBREGIONS)], "threats": ["armed_conflict"]}],
                 "not": {"sources": ["feed"]}}
    return {"name": f"rule{i}", "match": match, "deliver": [{"kind": "file", "path": "out"}]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rules", type=int, default=1_000)
    args = parser.parse_args()
    rng = random.Random(4)
    items = make_items(args.items, rng)
    raw = {"sources": [{"name": "news", "kind": "files", "path": "x"}, {"name": "feed", "kind": "files", "path": "y"}],
           "alerts": [make_rule(i, rng) for i in range(args.rules)]}
    config = Config.model_validate(raw, context={"base": Path(".")})

    started = time.perf_counter()
    matcher = compile_rules(config)
    compiled = time.perf_counter() - started

    started = time.perf_counter()
    found = matcher.match(items)
    elapsed = time.perf_counter() - started
    pairs = sum(len(v) for v in found.values())

    # Baseline: the least a per-pair loop can do, one set intersection for every item and rule.
    region_sets = [frozenset(a["match"].get("regions", ())) for a in raw["alerts"]]
    started = time.perf_counter()
    bare = 0
    for item in items:
        regions = item.regions
        for wanted in region_sets:
            if wanted & regions:
                bare += 1
    baseline = time.perf_counter() - started

    print(f"match: {args.items:,} items x {args.rules:,} rules in {elapsed:.3f} s "
          f"({pairs:,} matches; rules compiled in {compiled * 1000:.0f} ms)")
    print(f"baseline: bare nested loop of one set intersection per pair: {baseline:.3f} s "
          f"({bare:,} region overlaps); matcher is {baseline / elapsed:.1f}x that")
    print(f"target < 1 s: {'met' if elapsed < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
