"""Alert rules: the hierarchy, threats, severity, words, sources, any/all/not, and located errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.alerts import ItemFacts, compile_rules
from monitor.classify.fold import fold_name
from monitor.classify.gazetteer import Gazetteer, Region
from monitor.config import load_config, parse_config
from monitor.errors import ConfigError

NOW = datetime(2024, 3, 1, 12, tzinfo=UTC)


def facts(item_id: str, regions: set[str] = frozenset(), threats: set[str] = frozenset(), severity: int = 2,
          source: str = "news", text: str = "") -> ItemFacts:
    return ItemFacts(item_id, source, frozenset(regions), frozenset(threats), severity, NOW, text)


# An item's region set holds its places and their ancestors (what Engine.index_regions stores).
BAKU = {"baku-az", "AZ-BA", "AZ", "western-asia", "asia"}
YEREVAN = {"yerevan-am", "AM", "western-asia", "asia"}
TBILISI = {"tbilisi-ge", "GE", "western-asia", "asia"}
PARIS = {"paris-fr", "FR", "western-europe", "europe"}


def config(alerts: str, tmp_path: Path | None = None) -> object:
    text = ("sources:\n  - {name: news, kind: files, path: x}\n  - {name: feed, kind: files, path: y}\n"
            "alerts:\n" + alerts)
    if tmp_path is None:
        return parse_config(text, base=Path("/tmp"))
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def names(alerts: str, items: list[ItemFacts], alert: str = "a") -> list[str]:
    matcher = compile_rules(config(alerts))
    return [m.item_id for m in matcher.match(items)[alert]]


def test_country_matches_its_cities_and_subregion_matches_its_countries() -> None:
    items = [facts("baku", BAKU, {"terrorism"}), facts("yerevan", YEREVAN, {"terrorism"}),
             facts("paris", PARIS, {"terrorism"})]
    rule = "  - {name: a, match: {regions: [%s]}, deliver: [{kind: file, path: out}]}\n"
    assert names(rule % "AZ", items) == ["baku"]
    assert names(rule % "western-asia", items) == ["baku", "yerevan"]
    assert names(rule % "baku-az", items) == ["baku"]
    assert names(rule % "asia, europe", items) == ["baku", "yerevan", "paris"]


def test_threats_severity_and_why() -> None:
    items = [facts("t", BAKU, {"terrorism"}, severity=3), facts("c", BAKU, {"crime"}, severity=3),
             facts("quiet", BAKU, {"terrorism"}, severity=0), facts("low", BAKU, {"terrorism"}, severity=1)]
    matcher = compile_rules(config(
        "  - {name: a, match: {regions: [AZ], threats: [terrorism, kidnapping], min_severity: medium},"
        " deliver: [{kind: file, path: out}]}\n"))
    found = matcher.match(items)["a"]
    assert [m.item_id for m in found] == ["t"]
    assert found[0].regions == ("AZ",) and found[0].threats == ("terrorism",)
    assert found[0].why == "Matched rule 'a': region AZ; threat terrorism; severity high"


def test_default_min_severity_is_low() -> None:
    items = [facts("none", BAKU, severity=0), facts("low", BAKU, severity=1)]
    assert names("  - {name: a, match: {regions: [AZ]}, deliver: [{kind: file, path: out}]}\n", items) == ["low"]


def test_keywords_are_whole_words_case_insensitive_and_excludes_win() -> None:
    items = [facts("hit", BAKU, text="The EMBASSY in Baku was closed after a bomb threat."),
             facts("part", BAKU, text="Embassyville hosts a bombastic festival."),
             facts("drill", BAKU, text="The embassy held a bomb drill."),
             facts("phrase", BAKU, text="A state  of\nemergency was declared.")]
    matcher = compile_rules(config(
        "  - name: a\n    match: {regions: [AZ], keywords: [embassy, bomb, state of emergency],"
        " exclude_keywords: [drill]}\n    deliver: [{kind: file, path: out}]\n"))
    found = {m.item_id: m for m in matcher.match(items)["a"]}
    assert sorted(found) == ["hit", "phrase"]
    assert found["hit"].keywords == ("bomb", "embassy")
    assert "words 'bomb', 'embassy'" in found["hit"].why
    assert found["phrase"].keywords == ("state of emergency",)


def test_sources_filter() -> None:
    items = [facts("n", BAKU, source="news"), facts("f", BAKU, source="feed")]
    assert names("  - {name: a, match: {regions: [AZ], sources: [feed]}, deliver: [{kind: file, path: out}]}\n",
                 items) == ["f"]


def test_any_all_not_composition() -> None:
    items = [facts("az-terror", BAKU, {"terrorism"}), facts("am-unrest", YEREVAN, {"civil_unrest"}),
             facts("az-crime", BAKU, {"crime"}), facts("ge-terror", TBILISI, {"terrorism"}),
             facts("az-terror-none", BAKU, {"terrorism"}, severity=0)]
    alerts = """  - name: a
    match:
      any:
        - {regions: [AZ], threats: [terrorism]}
        - {regions: [AM], threats: [civil_unrest]}
      not: {regions: [GE]}
    deliver: [{kind: file, path: out}]
  - name: b
    match:
      regions: [western-asia]
      all:
        - {threats: [terrorism, crime]}
        - not: {threats: [crime]}
    deliver: [{kind: file, path: out}]
"""
    matcher = compile_rules(config(alerts))
    found = matcher.match(items)
    assert [m.item_id for m in found["a"]] == ["az-terror", "am-unrest"]
    assert [m.item_id for m in found["b"]] == ["az-terror", "ge-terror"]
    # `not:` without min_severity does not smuggle the default severity into the negation.
    assert next(m for m in found["a"] if m.item_id == "am-unrest").regions == ("AM",)


def test_rule_without_regions_or_threats_sees_everything() -> None:
    items = [facts("x", PARIS, text="strike at the airport"), facts("y", BAKU, text="nothing to see")]
    assert names("  - {name: a, match: {keywords: [strike]}, deliver: [{kind: file, path: out}]}\n", items) == ["x"]


def _gazetteer() -> Gazetteer:
    regions = [Region("AZ", "Azerbaijan", "country", "AZ"), Region("AM", "Armenia", "country", "AM"),
               Region("GE", "Georgia", "country", "GE"), Region("US-GA", "Georgia", "region", "US"),
               Region("NA", "Namibia", "country", "NA"), Region("baku-az", "Baku", "city", "AZ")]
    names: dict[str, tuple[str, ...]] = {}
    for region in regions:
        names[fold_name(region.name)] = (*names.get(fold_name(region.name), ()), region.id)
    return Gazetteer(regions={r.id: r for r in regions}, order=regions, names=names)


def test_names_resolve_to_ids_and_problems_are_located(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    good = config("  - {name: a, match: {regions: [Azerbaijan, AM]}, deliver: [{kind: file, path: out}]}\n", tmp_path)
    matcher = compile_rules(good, _gazetteer())
    assert matcher.rules[0].condition.regions == {"AZ", "AM"}
    bad = config("""  - name: a
    match:
      regions: [Narnia, Georgia]
      threats: [terorism]
      any:
        - {sources: [nwes]}
    deliver: [{kind: file, path: out}]
""", tmp_path)
    with pytest.raises(ConfigError) as info:
        compile_rules(bad, _gazetteer())
    assert [str(p) for p in info.value.problems] == [
        "config.yaml:7:17: alerts[0].match.regions[0]: unknown region 'Narnia' (did you mean 'Namibia'?)",
        "config.yaml:7:25: alerts[0].match.regions[1]: 'Georgia' names more than one region: "
        "GE (Georgia, country), US-GA (Georgia, region); write the id",
        "config.yaml:8:17: alerts[0].match.threats[0]: unknown threat 'terorism' (known: armed_conflict, civil_unrest, "
        "crime, health, kidnapping, natural_disaster, other, terrorism, transport_disruption, wrongful_detention) "
        "(did you mean 'terrorism'?)",
        "config.yaml:10:22: alerts[0].match.any[0].sources[0]: no source is named 'nwes' (did you mean 'news'?)",
    ]
    assert info.value.exit_code == 2


PLAIN_AND_GENERAL = """sites:
  - {name: office, at: {lat: 40.4, lon: 49.9}, radius: 50km}
  - {name: depot, at: {lat: 40.7, lon: 46.4}, radius: 10km}
alerts:
  - {name: office, match: {sites: [office]}, deliver: [{kind: file, path: out}]}
  - {name: office-wide, match: {sites: [office], include_country: true, min_severity: medium},
     deliver: [{kind: file, path: out}]}
  - {name: office-terror, match: {sites: [office], threats: [terrorism], sources: [feed]},
     deliver: [{kind: file, path: out}]}
  - {name: both, match: {sites: [office, depot]}, deliver: [{kind: file, path: out}]}
  - {name: office-words, match: {sites: [office], keywords: [bomb]}, deliver: [{kind: file, path: out}]}
  - {name: region, match: {regions: [AZ], threats: [terrorism, crime]}, deliver: [{kind: file, path: out}]}
travel:
  lead: 3d
  deliver: [{kind: file, path: out}]
  trips:
    - name: tour
      legs:
        - {place: AZ, from: 2024-03-01, to: 2024-03-05}
        - {place: baku-az, from: 2024-03-03, to: 2024-03-08}
        - {place: GE, from: 2024-03-10, to: 2024-03-12}
    - name: careful
      threats: [terrorism]
      min_severity: high
      legs: [{place: AM, from: 2024-02-25, to: 2024-03-02}]
"""


def test_plain_site_and_trip_rules_match_exactly_as_their_conditions_say() -> None:
    # Site rules and trip rules that ask for little are matched without Condition.test; whatever
    # way a rule goes, it must take exactly the items its condition takes, once, in item order.
    import random
    from datetime import timedelta

    from monitor.travel.trips import plan

    rng = random.Random(5)
    sources = "sources:\n  - {name: news, kind: files, path: x}\n  - {name: feed, kind: files, path: y}\n"
    travel = plan(parse_config(sources + PLAIN_AND_GENERAL, base=Path("/tmp")), None)
    matcher = compile_rules(travel.config)
    places = [BAKU, YEREVAN, TBILISI, PARIS, {"AZ", "western-asia", "asia"}]
    nears = [{}, {"office": 12.5}, {"office": None}, {"office": 40.0, "depot": 3.0}, {"depot": None}]
    items = [ItemFacts(f"i{n}", rng.choice(("news", "feed")), frozenset(rng.choice(places)),
                       frozenset(rng.sample(["terrorism", "crime", "health"], rng.randint(1, 2))), rng.randint(0, 4),
                       datetime(2024, 2, 20, tzinfo=UTC) + timedelta(hours=rng.randint(0, 24 * 25)),
                       rng.choice(("", "a bomb went off")), near=rng.choice(nears))
             for n in range(400)]
    items += items[:20]  # the same item twice in one batch is matched twice, as any rule would
    found = matcher.match(items)
    for rule in matcher.rules:
        expected = [i.id for i in items if rule.condition.test(i, None)]
        assert [m.item_id for m in found[rule.name]] == expected, rule.name
    assert all(found[r.name] for r in matcher.rules)  # every kind of rule took something
    assert matcher.match(items) == found  # matches compare by what they matched on, worked out when read
    # A subset of the alerts asked for: the others are not matched at all.
    assert set(matcher.match(items, ["office", "trip:tour"])) == {"office", "trip:tour"}
