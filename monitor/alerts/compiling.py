"""Compiling and validating the config's alert rules (and the trips' rules) into a Matcher:
region names resolved to ids, threats, sources, sites and legs checked, keywords made regexes; every
problem a located ConfigError, all at once."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from monitor.alerts.matching import (
    DEFAULT_THREATS,
    CompiledRule,
    Condition,
    Leg,
    Matcher,
    RegionResolver,
    _Words,
)
from monitor.alerts.names import Unresolved, region_id, suggest_region, threat_id
from monitor.config import Config, MatchSpec, format_path, leg_window
from monitor.errors import ConfigError, Problem
from monitor.models import Severity
from monitor.support.yamlpos import Located, load_located


class _Compiler:
    def __init__(self, config: Config, resolver: RegionResolver | None, threat_types: Iterable[str],
                 located: Located | None, file: str) -> None:
        self.config = config
        self.resolver = resolver
        self.threats = set(threat_types)
        self.sources = {s.name for s in config.sources}
        self.located = located
        self.file = file
        self.problems: list[Problem] = []
        self.names: dict[str, str] = {}
        self.sites: dict[str, Any] = {}
        self.legs: dict[str, tuple[Leg, ...]] = {}
        self.trip_paths: dict[str, tuple[str | int, ...]] = {}  # a trip's alert -> where the trip is

    def problem(self, path: tuple[str | int, ...], message: str, suggestion: str | None = None) -> None:
        line, col = (self.located.position(path) if self.located else None) or (None, None)
        self.problems.append(Problem(self.file, line, col, format_path(path), message, suggestion))

    def condition(self, spec: MatchSpec, path: tuple[str | int, ...], top: bool) -> Condition:
        # A nested condition only tests severity when it says so; otherwise the default
        # min_severity of every `not:` branch would turn "not X" into "not (X and at least low)".
        rank = Severity.parse(spec.min_severity).rank if top or "min_severity" in spec.model_fields_set else None
        return Condition(
            regions=self.regions(spec.regions, (*path, "regions")) if spec.regions else None,
            threats=self.threat_set(spec.threats, (*path, "threats")) if spec.threats else None,
            min_rank=rank or None,
            keywords=_Words.build(spec.keywords),
            exclude=_Words.build(spec.exclude_keywords),
            sources=self.source_set(spec.sources, (*path, "sources")) if spec.sources else None,
            advisory_change=frozenset(spec.advisory_change) if spec.advisory_change else None,
            min_level=spec.min_level,
            breaking=spec.breaking,
            sites=self.site_set(spec.sites, (*path, "sites")) if spec.sites else None,
            include_country=spec.include_country,
            legs=self.trip_legs(spec.trips, (*path, "trips")) if spec.trips else None,
            any_of=tuple(self.condition(c, (*path, "any", i), False) for i, c in enumerate(spec.any or [])),
            all_of=tuple(self.condition(c, (*path, "all", i), False) for i, c in enumerate(spec.all or [])),
            not_=self.condition(spec.not_, (*path, "not"), False) if spec.not_ is not None else None,
        )

    def regions(self, names: Sequence[str], path: tuple[str | int, ...]) -> frozenset[str]:
        if self.resolver is None:
            return frozenset(names)
        ids: set[str] = set()
        for index, name in enumerate(names):
            found = region_id(self.resolver, name)
            if isinstance(found, Unresolved):
                self.problem((*path, index), found.message, found.suggestion)
            else:
                ids.add(found)
                self.names[found] = self.resolver.resolve(found)[0].name
        return frozenset(ids)

    def _suggest(self, name: str) -> str | None:
        return suggest_region(self.resolver, name) if self.resolver is not None else None

    def site_set(self, names: Sequence[str], path: tuple[str | int, ...]) -> frozenset[str]:
        for index, name in enumerate(names):
            if name not in self.sites:
                close = difflib.get_close_matches(name, sorted(self.sites), n=1, cutoff=0.6)
                known = ", ".join(sorted(self.sites)) or "none: add them under sites:"
                self.problem((*path, index), f"no site is named '{name}' (sites: {known})", close[0] if close else None)
        return frozenset(names)

    def trip_legs(self, names: Sequence[str], path: tuple[str | int, ...]) -> tuple[Leg, ...]:
        legs: list[Leg] = []
        for index, name in enumerate(names):
            if name not in self.legs:
                close = difflib.get_close_matches(name, sorted(self.legs), n=1, cutoff=0.6)
                self.problem((*path, index), f"no trip is named '{name}'", close[0] if close else None)
            legs.extend(self.legs.get(name, ()))
        return tuple(legs)

    def compile_travel(self) -> None:
        """Resolve the sites' places and the trips' legs (before the rules that name them)."""
        from monitor.travel.sites import resolve_site

        for index, spec in enumerate(self.config.sites):
            site = resolve_site(spec, self.resolver, lambda msg, s=None, i=index: self.problem(
                ("sites", i, "place"), msg, s))
            if site is not None:
                self.sites[spec.name] = site
        travel = self.config.travel
        if travel is None:
            return
        from monitor.travel.trips import alert_name, resolve_location, target_problems

        for path, message in target_problems(self.config):
            self.problem(path, message)
        for t_index, trip in enumerate(travel.trips):
            self.trip_paths[alert_name(trip.name)] = ("travel", "trips", t_index)
            legs = []
            for l_index, leg in enumerate(trip.legs):
                try:
                    place = resolve_location(leg.place, self.resolver)
                except ValueError:
                    self.problem(("travel", "trips", t_index, "legs", l_index, "place"),
                                 f"unknown place '{leg.place}'", self._suggest(leg.place))
                    continue
                opens, closes = leg_window(leg.from_, leg.to)
                legs.append(Leg(trip.name, l_index, place, opens - travel.lead, closes))
            self.legs[trip.name] = tuple(legs)

    def threat_set(self, names: Sequence[str], path: tuple[str | int, ...]) -> frozenset[str]:
        ids: set[str] = set()
        for index, name in enumerate(names):
            found = threat_id(self.threats, name)
            if isinstance(found, Unresolved):
                self.problem((*path, index), found.message, found.suggestion)
            else:
                ids.add(found)
        return frozenset(ids)

    def source_set(self, names: Sequence[str], path: tuple[str | int, ...]) -> frozenset[str]:
        for index, name in enumerate(names):
            if name not in self.sources:
                close = difflib.get_close_matches(name, sorted(self.sources), n=1, cutoff=0.6)
                self.problem((*path, index), f"no source is named '{name}'", close[0] if close else None)
        return frozenset(names)


def compile_rules(config: Config, resolver: RegionResolver | None = None,
                  threat_types: Iterable[str] = DEFAULT_THREATS, *, located: Located | None = None) -> Matcher:
    """Compile and validate every alert rule; raises ConfigError listing every problem.

    Without a resolver region ids are taken as written (for tests and tools with no gazetteer).
    """
    file, located = _locate(config, located)
    compiler = _Compiler(config, resolver, threat_types, located, file)
    compiler.compile_travel()
    rules = []
    for index, alert in enumerate(config.alerts):
        path = compiler.trip_paths.get(alert.name, ("alerts", index, "match"))
        condition = compiler.condition(alert.match, path, True)
        rules.append(CompiledRule(alert, condition, dict(compiler.names)))
    if compiler.problems:
        raise ConfigError(compiler.problems, hint="regions are ISO codes (AZ, AZ-BA), city slugs (baku-az), "
                          "area slugs (western-asia) or any name the gazetteer knows")
    return Matcher(rules, compiler.sites)


def _locate(config: Config, located: Located | None) -> tuple[str, Located | None]:
    """The config file's name as the user knows it, and its node positions (read again)."""
    if config.path is None:
        return "config.yaml", located
    file = _display(config.path)
    if located is None:
        try:
            located = load_located(config.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            located = None
    return file, located


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
