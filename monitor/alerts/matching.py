"""Matching: classified items against compiled alert rules, indexed so that an item meets only the
rules that could want it (see the package docstring); what a match matched on is worked out when read."""


from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from monitor.config import AlertRule
from monitor.models import ItemFacts, Severity

# The taxonomy of ARCHITECTURE.md; an engine that knows more types (a rules folder may add
# some) passes its own list.
DEFAULT_THREATS = ("terrorism", "kidnapping", "armed_conflict", "civil_unrest", "crime", "health",
                   "natural_disaster", "wrongful_detention", "transport_disruption", "other")


class RegionResolver(Protocol):
    """What alerts need of the gazetteer: names and ids to regions (``.id``, ``.name``, ``.kind``)."""

    def resolve(self, name: str) -> Sequence[Any]: ...


@dataclass(frozen=True)
class Leg:
    """A trip's leg as matching sees it: the place (and what lies in it) and when it is current."""

    trip: str
    index: int
    place: str
    opens: datetime  # the leg's start less the lead time
    closes: datetime  # the leg's end

    def current(self, at: datetime) -> bool:
        return self.opens <= at < self.closes


class Match:
    """An item an alert rule wants, with what it matched on.

    What matched (regions, threats, words, sites, legs) is worked out from the rule and the item
    when first read, not when matching: most matches wait or are claimed without being shown, and
    matching thousands of items against site and trip rules is the hot path. Read-only; the item is
    kept for the explanation (one ItemFacts is shared by all of its matches).
    """

    __slots__ = ("_parts", "item", "rule")

    def __init__(self, rule: CompiledRule, item: ItemFacts) -> None:
        self.rule = rule
        self.item = item
        self._parts: _Parts | None = None

    @property
    def alert(self) -> str:
        return self.rule.name

    @property
    def item_id(self) -> str:
        return self.item.id

    @property
    def severity(self) -> int:
        return self.item.severity

    @property
    def dated(self) -> datetime:
        return self.item.dated

    @property
    def regions(self) -> tuple[str, ...]:
        return self._explained().regions

    @property
    def threats(self) -> tuple[str, ...]:
        return self._explained().threats

    @property
    def keywords(self) -> tuple[str, ...]:
        return self._explained().keywords

    @property
    def sites(self) -> tuple[tuple[str, float | None], ...]:
        return self._explained().sites

    @property
    def legs(self) -> tuple[int, ...]:
        """A trip's legs (indexes) the item is about."""
        return self._explained().legs

    @property
    def why(self) -> str:
        """One line for the reader naming the rule and what matched (made only when shown)."""
        parts = self._explained()
        return self.rule.why(parts.regions, parts.threats, parts.keywords, self.severity, parts.sites)

    def _explained(self) -> _Parts:
        if self._parts is None:
            self._parts = _Parts.of(self.rule, self.item)
        return self._parts

    def _key(self) -> tuple[Any, ...]:
        return (self.alert, self.item_id, self.severity, self.dated, *self._explained())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Match) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Match(alert={self.alert!r}, item_id={self.item_id!r}, severity={self.severity})"


class _Parts(NamedTuple):
    """What a match matched on, in the order it is shown."""

    regions: tuple[str, ...]
    threats: tuple[str, ...]
    keywords: tuple[str, ...]
    sites: tuple[tuple[str, float | None], ...]
    legs: tuple[int, ...]

    @classmethod
    def of(cls, rule: CompiledRule, item: ItemFacts) -> _Parts:
        hits = _Hits()
        # The rule took the item when matching; asking again, collecting, finds the same parts.
        rule.condition.test(item, hits)
        return cls(tuple(sorted(hits.regions)), tuple(sorted(hits.threats)),
                   tuple(sorted(hits.keywords, key=str.casefold)),
                   tuple(sorted(hits.sites.items(), key=lambda s: (s[1] is None, s[1] or 0.0))) if hits.sites else (),
                   tuple(sorted(hits.legs)) if hits.legs else ())


@dataclass
class _Hits:
    regions: set[str] = field(default_factory=set)
    threats: set[str] = field(default_factory=set)
    keywords: set[str] = field(default_factory=set)
    sites: dict[str, float | None] = field(default_factory=dict)
    legs: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class _Words:
    """A keyword list compiled into one case-insensitive, whole-word regex."""

    words: dict[str, str]  # normalised form -> the keyword as the user wrote it
    pattern: re.Pattern[str]

    @classmethod
    def build(cls, words: Sequence[str]) -> _Words | None:
        cleaned = [w.strip() for w in words if w.strip()]
        if not cleaned:
            return None
        alternatives = sorted((r"\s+".join(re.escape(p) for p in w.split()) for w in cleaned), key=len, reverse=True)
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)
        return cls({_norm(w): w for w in cleaned}, pattern)

    def found(self, text: str) -> set[str]:
        return {self.words.get(_norm(m.group(0)), m.group(0)) for m in self.pattern.finditer(text)}


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


class _Own(NamedTuple):
    """What one condition's own parts found in an item (nested conditions aside)."""

    regions: frozenset[str] | None
    threats: frozenset[str] | None
    near: dict[str, float | None]
    legs: set[int]
    words: set[str]

    def add_to(self, hits: _Hits, nested: _Hits) -> None:
        hits.regions |= self.regions or set()
        hits.threats |= self.threats or set()
        hits.keywords |= self.words
        hits.regions |= nested.regions
        hits.threats |= nested.threats
        hits.keywords |= nested.keywords
        hits.sites.update(self.near)
        hits.sites.update(nested.sites)
        hits.legs |= self.legs | nested.legs


# Found, but nothing to list: the parts of a condition tested without collecting.
_NOTHING_COLLECTED = _Own(None, None, {}, set(), set())


@dataclass(frozen=True)
class Condition:
    """A compiled MatchSpec: every part that is set must hold (regions, threats, words: any of)."""

    regions: frozenset[str] | None = None
    threats: frozenset[str] | None = None
    min_rank: int | None = None
    keywords: _Words | None = None
    exclude: _Words | None = None
    sources: frozenset[str] | None = None
    advisory_change: frozenset[str] | None = None
    min_level: int | None = None
    breaking: bool | None = None
    sites: frozenset[str] | None = None
    include_country: bool = False
    legs: tuple[Leg, ...] | None = None
    any_of: tuple[Condition, ...] = ()
    all_of: tuple[Condition, ...] = ()
    not_: Condition | None = None

    @property
    def needs_breaking(self) -> bool:
        return self.breaking is not None or any(c.needs_breaking for c in (*self.any_of, *self.all_of, self.not_) if c)

    @property
    def needs_text(self) -> bool:
        return bool(self.keywords or self.exclude or any(c.needs_text for c in (*self.any_of, *self.all_of))
                    or (self.not_ is not None and self.not_.needs_text))

    def test(self, item: ItemFacts, hits: _Hits | None) -> bool:
        """Whether the item meets the condition; what matched is added to ``hits`` (if given)."""
        own = self._own_parts(item, collect=hits is not None)
        if own is None:
            return False
        local = _Hits() if hits is not None else None
        if (self.all_of or self.any_of or self.not_ is not None) and not self._branches_hold(item, local):
            return False
        if hits is not None and local is not None:
            own.add_to(hits, local)
        return True

    def _own_parts(self, item: ItemFacts, *, collect: bool) -> _Own | None:
        """What this condition's own parts (nested conditions aside) found in the item, or None when
        one part fails (the words themselves are only listed when collecting: a search is cheaper)."""
        if self.sources is not None and item.source not in self.sources:
            return None
        if self.min_rank is not None and item.severity < self.min_rank:
            return None
        if self.advisory_change is not None and (item.level is None or (
                "any" not in self.advisory_change and item.advisory_change not in self.advisory_change)):
            return None  # a re-publication at the same level is not a change: only `any` wants it
        if self.min_level is not None and (item.level is None or item.level < self.min_level):
            return None
        if self.breaking is not None and item.breaking != self.breaking:
            return None
        regions = threats = None
        if self.regions is not None:
            regions = self.regions & item.regions
            if not regions:
                return None
        if self.threats is not None:
            threats = self.threats & item.threats
            if not threats:
                return None
        near: dict[str, float | None] = {}
        if self.sites is not None:
            near = {s: km for s, km in item.near.items()
                    if s in self.sites and (km is not None or self.include_country)}
            if not near:
                return None
        legs: set[int] = set()
        if self.legs is not None:
            # A leg wants what reaches the monitor while it is current (the issue's "while now lies
            # within [from - lead, to]"): an item's arrival decides, not the clock at matching, so a
            # match never changes with the clock (a backtest, a live pass and a catch-up agree), and
            # nothing that arrived before or after the leg is sent, whatever date it carries.
            legs = {leg.index for leg in self.legs if leg.place in item.regions and leg.current(item.arrived)}
            if not legs:
                return None
        if self.exclude is not None and self.exclude.pattern.search(item.text):
            return None
        if not collect:
            return _NOTHING_COLLECTED if self.keywords is None or self.keywords.pattern.search(item.text) else None
        words: set[str] = set()
        if self.keywords is not None:
            words = self.keywords.found(item.text)
            if not words:
                return None
        return _Own(regions, threats, near, legs, words)

    def _branches_hold(self, item: ItemFacts, local: _Hits | None) -> bool:
        """The nested conditions: all of ``all_of``, one of ``any_of``, not ``not_``."""
        if not all(c.test(item, local) for c in self.all_of):
            return False
        if self.any_of:
            if local is None:
                if not any(c.test(item, None) for c in self.any_of):
                    return False
            # When collecting, every branch is tried (no short cut): the reader is told all that matched.
            elif not any([c.test(item, local) for c in self.any_of]):
                return False
        return self.not_ is None or not self.not_.test(item, None)

    def region_anchor(self) -> frozenset[str] | None:
        """Region ids of which a matching item must have at least one, or None if it need not."""
        return self._anchor(_own_regions)

    def site_anchor(self) -> frozenset[str] | None:
        """Sites of which a matching item must lie near at least one, or None if it need not."""
        return self._anchor(lambda c: c.sites)

    def threat_anchor(self) -> frozenset[str] | None:
        """Threat types of which a matching item must have at least one, or None if it need not."""
        return self._anchor(lambda c: c.threats)

    def _anchor(self, own: Callable[[Condition], frozenset[str] | None]) -> frozenset[str] | None:
        # What this condition asks itself, else what any `all` branch must have, else what every
        # `any` branch asks (their union).
        found = own(self)
        if found is not None:
            return found
        for child in self.all_of:
            anchor = child._anchor(own)
            if anchor is not None:
                return anchor
        if self.any_of:
            anchors = [c._anchor(own) for c in self.any_of]
            if all(a is not None for a in anchors):
                return frozenset().union(*(a for a in anchors if a is not None))
        return None


def _own_regions(condition: Condition) -> frozenset[str] | None:
    if condition.regions is not None:
        return condition.regions
    return frozenset(leg.place for leg in condition.legs) if condition.legs is not None else None


@dataclass(frozen=True)
class CompiledRule:
    alert: AlertRule
    condition: Condition
    names: dict[str, str]  # region id -> the name to show the reader

    @property
    def name(self) -> str:
        return self.alert.name

    def why(self, regions: Sequence[str], threats: Sequence[str], keywords: Sequence[str], severity: int,
            sites: Sequence[tuple[str, float | None]] = ()) -> str:
        parts = []
        for site, km in sites:
            parts.append(f"{km:.0f} km from {site}" if km is not None else f"in the country of {site}")
        if regions:
            parts.append("region " + ", ".join(_label(r, self.names) for r in regions))
        if threats:
            parts.append("threat " + ", ".join(threats))
        parts.append(f"severity {_SEVERITIES[severity]}")
        if keywords:
            parts.append("words " + ", ".join(f"'{w}'" for w in keywords))
        return f"Matched rule '{self.name}': " + "; ".join(parts)


_SEVERITIES = [s.value for s in Severity]


def _label(region_id: str, names: dict[str, str]) -> str:
    name = names.get(region_id)
    return f"{name} ({region_id})" if name and name != region_id else region_id


# What a plain rule asks of an item besides its site or legs: (rule index, least severity rank,
# threats, sources), the last two None when it does not ask.
_Plain = tuple[int, int, frozenset[str] | None, frozenset[str] | None]
# A plain site rule's checks and whether it takes an item about the site's whole country.
_SiteEntry = tuple[int, int, frozenset[str] | None, frozenset[str] | None, bool]
# A plain trip rule's checks and when one of its legs is current (opens, closes).
_LegEntry = tuple[int, int, frozenset[str] | None, frozenset[str] | None, datetime, datetime]


def _plain(index: int, condition: Condition) -> _Plain | None:
    """The checks of a rule that asks, besides its sites or legs, at most for threats, sources
    and a severity (as site and trip rules mostly do); None for any other rule."""
    if (condition.regions is not None or condition.keywords is not None or condition.exclude is not None
            or condition.advisory_change is not None or condition.min_level is not None
            or condition.breaking is not None or condition.any_of or condition.all_of or condition.not_ is not None
            or (condition.sites is None) == (condition.legs is None)):
        return None
    return index, condition.min_rank or 0, condition.threats, condition.sources


class Matcher:
    """Every alert rule of a config, compiled and indexed for matching many items at once."""

    def __init__(self, rules: Sequence[CompiledRule], sites: Mapping[str, Any] | None = None) -> None:
        self.rules = list(rules)
        self.by_name = {r.name: r for r in self.rules}
        # The config's sites, resolved (monitor/travel/sites.py Site): what items are located against.
        self.sites = dict(sites or {})
        self._by_region: dict[str, list[int]] = {}
        self._by_site: dict[str, list[int]] = {}
        self._by_threat: dict[str, list[int]] = {}
        # A trip's rule by its legs' places: only a leg current at the item's date makes it a candidate.
        self._by_leg: dict[str, list[tuple[Leg, int]]] = {}
        self._always: list[int] = []
        # Plain site and trip rules skip Condition.test: there are many, and nearly every candidate
        # passes (the locator and the legs' places did the choosing). Others go the general way.
        self._plain_sites: dict[str, list[_SiteEntry]] = {}
        self._plain_legs: dict[str, list[_LegEntry]] = {}  # by the legs' places
        for index, rule in enumerate(self.rules):
            self._index(index, rule.condition)

    def _index(self, index: int, condition: Condition) -> None:
        plain = _plain(index, condition)
        if plain is not None and condition.legs is not None:
            for leg in condition.legs:
                self._plain_legs.setdefault(leg.place, []).append((*plain, leg.opens, leg.closes))
            return
        if plain is not None and condition.sites is not None and len(condition.sites) == 1:
            [site] = condition.sites
            self._plain_sites.setdefault(site, []).append((*plain, condition.include_country))
            return
        if condition.legs is not None:
            for leg in condition.legs:
                self._by_leg.setdefault(leg.place, []).append((leg, index))
            return
        anchor = condition.region_anchor()
        table = self._by_region
        if anchor is None:
            anchor, table = condition.site_anchor(), self._by_site
        if anchor is None:
            anchor, table = condition.threat_anchor(), self._by_threat
        if anchor is None:
            self._always.append(index)
            return
        for key in anchor:
            table.setdefault(key, []).append(index)

    @property
    def needs_text(self) -> bool:
        return any(r.condition.needs_text for r in self.rules)

    needs_breaking = property(lambda self: any(r.condition.needs_breaking for r in self.rules))  # incidents' flag

    def match(self, items: Iterable[ItemFacts], alerts: Iterable[str] | None = None) -> dict[str, list[Match]]:
        """alert name -> its matches, in the order the items came."""
        wanted = None if alerts is None else set(alerts)
        out: dict[str, list[Match]] = {r.name: [] for r in self.rules if wanted is None or r.name in wanted}
        sinks = [out.get(r.name) for r in self.rules]  # by rule index; None for a rule not asked for
        # By rule index, the position of the item it last took: two legs of a trip can be about one item.
        last = [-1] * len(self.rules)
        for position, item in enumerate(items):
            self._match_general(item, sinks)
            if item.near and self._plain_sites:
                self._match_sites(item, sinks)
            if self._plain_legs:
                self._match_trips(item, position, sinks, last)
        return out

    def _match_general(self, item: ItemFacts, sinks: list[list[Match] | None]) -> None:
        rules = self.rules
        candidates = set(self._always)
        for region in item.regions:
            candidates.update(self._by_region.get(region, ()))
        for threat in item.threats:
            candidates.update(self._by_threat.get(threat, ()))
        if self._by_site:
            for site in item.near:
                candidates.update(self._by_site.get(site, ()))
        if self._by_leg:
            for region in item.regions:
                for leg, index in self._by_leg.get(region, ()):
                    if leg.opens <= item.arrived < leg.closes:
                        candidates.add(index)
        for index in candidates:
            sink = sinks[index]
            if sink is not None and rules[index].condition.test(item, None):
                sink.append(Match(rules[index], item))

    def _match_sites(self, item: ItemFacts, sinks: list[list[Match] | None]) -> None:
        rules, severity = self.rules, item.severity
        for site, km in item.near.items():
            for index, rank, threats, sources, include_country in self._plain_sites.get(site, ()):
                sink = sinks[index]
                if (sink is None or severity < rank or (km is None and not include_country)
                        or (threats is not None and threats.isdisjoint(item.threats))
                        or (sources is not None and item.source not in sources)):
                    continue
                sink.append(Match(rules[index], item))

    def _match_trips(self, item: ItemFacts, position: int, sinks: list[list[Match] | None], last: list[int]) -> None:
        rules, severity, arrived = self.rules, item.severity, item.seen or item.dated
        for region in item.regions:
            for index, rank, threats, sources, opens, closes in self._plain_legs.get(region, ()):
                # A leg wants what arrives while it is current (as Condition.test).
                if not opens <= arrived < closes or severity < rank or last[index] == position:
                    continue
                sink = sinks[index]
                if (sink is None or (threats is not None and threats.isdisjoint(item.threats))
                        or (sources is not None and item.source not in sources)):
                    continue
                last[index] = position
                sink.append(Match(rules[index], item))
