from __future__ import annotations

import re
from pathlib import Path

from monitor.classify.rules import rules_version
from monitor.classify.ruletests import check_rules, run_rule_tests


def test_shipped_rules_are_clean() -> None:
    assert check_rules() == []


def test_every_problem_is_reported_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "threats.yaml").write_text(
        "threats:\n"
        "  terrorism:\n"
        "    terms: [counter-terrorism]\n"          # line 3: shadowed by the shipped exclusion
        "    regexes: ['(unclosed']\n"                      # line 4: bad regex
        "  no_such_type:\n"                                 # line 5: unknown type switched off
        "    enabled: false\n", encoding="utf-8")
    (tmp_path / "regions.yaml").write_text(
        "regions:\n"
        "  - {id: crimea, name: Crimea again, country: UA}\n"     # line 2: duplicate id
        "  - {id: my-place, name: My place, country: FR, aliases: [Karabakh]}\n"  # line 3: collides
        "countries:\n"
        "  ZZ: {aliases: [Zedland]}\n", encoding="utf-8")         # line 5: unknown code
    (tmp_path / "severity.yaml").write_text("base:\n  medium_types: [nonsense]\n", encoding="utf-8")
    problems = [str(p) for p in check_rules([tmp_path])]
    text = "\n".join(problems)
    assert f"{tmp_path}/threats.yaml:3" in text and "shadowed" in text
    assert f"{tmp_path}/threats.yaml:4" in text and "bad regex" in text
    assert f"{tmp_path}/threats.yaml:5" in text and "unknown threat type 'no_such_type'" in text
    assert f"{tmp_path}/regions.yaml:2" in text and "duplicate region id 'crimea'" in text
    assert f"{tmp_path}/regions.yaml:3" in text and "collides with region 'nagorno-karabakh'" in text
    assert f"{tmp_path}/regions.yaml:5" in text and "unknown ISO 3166-1 code" in text
    assert f"{tmp_path}/severity.yaml:2" in text and "unknown threat type 'nonsense'" in text
    assert len(problems) == 7


def test_yaml_errors_and_duplicate_keys(tmp_path: Path) -> None:
    (tmp_path / "threats.yaml").write_text("threats:\n  crime: {}\n  crime: {}\n", encoding="utf-8")
    (tmp_path / "severity.yaml").write_text("levels: [unclosed\n", encoding="utf-8")
    text = "\n".join(str(p) for p in check_rules([tmp_path]))
    assert "threats.yaml:3: crime: duplicate key" in text
    assert "severity.yaml" in text and "not valid YAML" in text


def test_version_changes_with_the_rules(tmp_path: Path) -> None:
    before = rules_version([tmp_path])
    (tmp_path / "regions.yaml").write_text("aliases:\n  baku-az: [Bakoo]\n", encoding="utf-8")
    assert rules_version([tmp_path]) != before


def test_shipped_rule_cases_pass_and_cover_the_taxonomy(tmp_path: Path) -> None:
    report = run_rule_tests(cache_dir=tmp_path)
    assert report.problems == []
    assert len(report.results) >= 60
    failed = [line for line in report.lines() if line.startswith("FAIL")]
    assert report.ok, "\n".join(report.lines())
    assert not failed
    expected = {t for r in report.results for t in r.case.expect.get("threats", [])}
    assert expected >= {"terrorism", "kidnapping", "armed_conflict", "civil_unrest", "crime", "health",
                        "natural_disaster", "wrongful_detention", "transport_disruption", "other"}


def test_failing_case_shows_a_diff(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "mine.yaml").write_text(
        "cases:\n  - id: wrong-on-purpose\n    title: Floods in Kenya\n    text: Floods hit Nairobi.\n"
        "    expect: {countries: [TZ], threats: [crime], severity: critical}\n", encoding="utf-8")
    report = run_rule_tests([tmp_path], cache_dir=tmp_path / "cache")
    assert not report.ok
    lines = "\n".join(report.lines())
    assert "FAIL wrong-on-purpose (mine.yaml:2)" in lines
    assert "countries: missing ['TZ'], extra ['KE']" in lines
    assert "threats missing: ['crime']" in lines
    # The summary says what each figure measures: passing cases are not label precision.
    assert re.search(r"\n(\d+)/\1 cases pass", lines) is None
    assert "cases pass (each finds what it expects and nothing it forbids)" in lines
    assert "precision (found that were expected) / recall (expected that were found): countries" in lines


def test_case_file_errors_name_the_file_and_line(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "broken.yaml").write_text("cases:\n  - id: a\n    title: [unclosed\n", encoding="utf-8")
    (tests / "odd_key.yaml").write_text("cases:\n  - id: b\n    ? [a, list]\n    : as a key\n", encoding="utf-8")
    (tests / "latin1.txt").write_bytes(b"Title\nCaf\xe9 bombing in Paris.\n")
    (tests / "files.yaml").write_text("cases:\n  - id: c\n    file: latin1.txt\n", encoding="utf-8")
    problems = {str(p).split(": ", 1)[0]: str(p) for p in check_rules([tmp_path])}
    assert "not valid YAML" in problems[f"{tests}/broken.yaml:4"]
    assert "found unhashable key" in problems[f"{tests}/odd_key.yaml:3"]
    assert "c.file: cannot read latin1.txt" in problems[f"{tests}/files.yaml:2"]
    assert len(problems) == 3


def test_rules_check_reports_boilerplate_problems(tmp_path: Path) -> None:
    (tmp_path / "boilerplate.yaml").write_text("drop_lines:\n  regexes: ['(unclosed']\n", encoding="utf-8")
    assert [str(p).split(": ", 2)[:2] for p in check_rules([tmp_path])] == [
        [f"{tmp_path}/boilerplate.yaml:2", "drop_lines.regexes[0]"]]


def test_links_and_issuers_are_checked(tmp_path: Path) -> None:
    (tmp_path / "threats.yaml").write_text(
        "threats:\n"
        "  crime:\n"
        "    yield_to: [no_such_type]\n"                     # line 3
        "  other:\n"
        "    effect_of: [natural_disaster, nor_this]\n",     # line 5
        encoding="utf-8")
    (tmp_path / "regions.yaml").write_text("issuers:\n  ZZ: [Ministry of Nowhere]\n", encoding="utf-8")  # line 2
    text = "\n".join(str(p) for p in check_rules([tmp_path]))
    assert f"{tmp_path}/threats.yaml:3: threats.crime.yield_to[0]: unknown threat type 'no_such_type'" in text
    assert f"{tmp_path}/threats.yaml:5: threats.other.effect_of[1]: unknown threat type 'nor_this'" in text
    assert f"{tmp_path}/regions.yaml:2: issuers.ZZ: unknown country 'ZZ'" in text
