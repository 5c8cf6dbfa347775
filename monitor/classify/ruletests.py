"""Rule test cases (``rules/tests/*.yaml``): texts with the countries, threats and severity a careful
reader would give them, run through the engine for ``advisory-monitor rules test``.

A case file holds ``cases:``, each with an ``id``, a ``title`` and ``text`` (or a ``file`` relative to
the case file, first line the title) and ``expect:``
``countries`` (the primary countries, as a set), ``top`` (the first country), ``not_countries``,
``threats``, ``not_threats``, ``regions`` (region ids that must be found, any role) and ``severity``
(one name or a list of acceptable names).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monitor.classify.compiled import compile_rules
from monitor.classify.engine import Engine, load_engine
from monitor.classify.rules import RuleFile, as_list, read_rule_sources
from monitor.errors import Problem
from monitor.models import Severity
from monitor.sources.extract import Boilerplate, clean_text, load_boilerplate, read_boilerplate
from monitor.support.yamlpos import LineDict, error_line, line_of, load_lined

_SEVERITIES = {s.value for s in Severity}


@dataclass
class Case:
    id: str
    file: Path
    line: int | None
    title: str
    text: str
    expect: dict[str, Any]


@dataclass
class CaseResult:
    case: Case
    diffs: list[str]
    countries: list[str]
    threats: list[str]
    severity: str

    @property
    def ok(self) -> bool:
        return not self.diffs


@dataclass
class RuleTestReport:
    results: list[CaseResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems and all(r.ok for r in self.results)

    def _ratio(self, hit: str, total: str) -> float:
        return self.counts.get(hit, 0) / max(self.counts.get(total, 0), 1)

    def figures(self) -> dict[str, float]:
        return {
            "country_precision": round(self._ratio("country_tp", "country_found"), 3),
            "country_recall": round(self._ratio("country_tp", "country_expected"), 3),
            "threat_precision": round(self._ratio("threat_tp", "threat_found"), 3),
            "threat_recall": round(self._ratio("threat_tp", "threat_expected"), 3),
            "severity_accuracy": round(self._ratio("severity_ok", "severity_cases"), 3),
        }

    def lines(self) -> list[str]:
        out = [str(p) for p in self.problems]
        for r in self.results:
            if r.ok:
                continue
            out.append(f"FAIL {r.case.id} ({r.case.file.name}:{r.case.line})")
            out.extend(f"  {d}" for d in r.diffs)
            out.append(f"  got: countries {r.countries}, threats {r.threats}, severity {r.severity}")
        out.extend(f"skipped {s}" for s in self.skipped)
        passed = sum(r.ok for r in self.results)
        f = self.figures()
        # Two different questions: a case passes when what it asks for is there (a threat it does
        # not mention may be found too); the figures count every label found or expected.
        out.append(f"{passed}/{len(self.results)} cases pass (each finds what it expects and nothing it forbids)")
        out.append(f"labels over the cases that state them, precision (found that were expected) / recall "
                   f"(expected that were found): countries {f['country_precision']:.2f} / "
                   f"{f['country_recall']:.2f}, threats "
                   f"{f['threat_precision']:.2f} / {f['threat_recall']:.2f}; severity right in "
                   f"{f['severity_accuracy']:.0%} of the cases that state one")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "passed": sum(r.ok for r in self.results),
            "cases": len(self.results),
            "figures": self.figures(),
            "failures": [{"id": r.case.id, "file": str(r.case.file), "line": r.case.line, "diffs": r.diffs}
                         for r in self.results if not r.ok],
            "problems": [str(p) for p in self.problems],
            "skipped": self.skipped,
        }


def load_cases(test_dirs: Sequence[Path], known_threats: set[str] | None = None,
               known_regions: set[str] | None = None, boilerplate: Boilerplate | None = None,
               ) -> tuple[list[Case], list[Problem], list[str]]:
    """Every case in the test folders, with the problems found in their files. A case's ``file`` is
    read like ``classify`` reads it: first line the title, the rest cleaned of page furniture."""
    loader = _CaseLoader(known_threats, known_regions, boilerplate)
    for folder in test_dirs:
        for path in sorted(Path(folder).glob("*.yaml")):
            loader.read_file(path)
    return loader.cases, loader.problems, loader.skipped


class _CaseLoader:
    """Reads case files one by one, collecting cases, problems and skipped cases."""

    def __init__(self, known_threats: set[str] | None, known_regions: set[str] | None,
                 boilerplate: Boilerplate | None) -> None:
        self.known_threats = known_threats
        self.known_regions = known_regions
        self.boilerplate = boilerplate
        self.cases: list[Case] = []
        self.problems: list[Problem] = []
        self.skipped: list[str] = []
        self.seen: dict[str, Path] = {}  # case id -> the file that has it

    def read_file(self, path: Path) -> None:
        # A file that cannot be read or parsed is reported and the others still run.
        try:
            data = load_lined(path.read_text(encoding="utf-8")).data
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(Problem(str(path), None, None, "", f"cannot read: {exc}"))
            return
        except yaml.YAMLError as exc:
            self.problems.append(Problem(str(path), error_line(exc), None, "", f"not valid YAML: {exc}"))
            return
        if not isinstance(data, LineDict):
            self.problems.append(Problem(str(path), 1, None, "", "expected a mapping with `cases:`"))
            return
        rf = RuleFile(path, data)
        items = as_list(data.get("cases"))
        for i, item in enumerate(items):
            case = self._case(rf, items, i, item)
            if case is not None:
                self.cases.append(case)

    def _case(self, rf: RuleFile, items: Any, i: int, item: Any) -> Case | None:
        where = f"cases[{i}]"
        if not isinstance(item, dict) or not item.get("id"):
            self.problems.append(rf.problem(items, i, where, "a case needs an id"))
            return None
        cid = str(item["id"])
        if cid in self.seen:
            self.problems.append(rf.problem(items, i, where,
                                            f"duplicate case id '{cid}' (also in {self.seen[cid].name})"))
            return None
        self.seen[cid] = rf.path
        title, text = str(item.get("title", "")), str(item.get("text", ""))
        if item.get("file"):
            target = (rf.path.parent / str(item["file"])).resolve()
            if not target.is_file():
                self.skipped.append(f"{cid}: {item['file']} not found")
                return None
            try:
                raw = target.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                self.problems.append(rf.problem(items, i, f"{cid}.file", f"cannot read {item['file']}: {exc}"))
                return None
            title, text = _split(raw)
            text = clean_text(text, self.boilerplate)
        expect = item.get("expect") or {}
        self.problems.extend(_check_expect(rf, items, i, cid, expect, self.known_threats, self.known_regions))
        return Case(cid, rf.path, line_of(items, i), title, text, dict(expect))


def _split(raw: str) -> tuple[str, str]:
    lines = raw.split("\n")
    for i, line in enumerate(lines):
        if line.strip():
            return line.strip(), "\n".join(lines[i + 1:])
    return "", ""


def _check_expect(rf: RuleFile, items: Any, i: int, cid: str, expect: Any, threats: set[str] | None,
                  regions: set[str] | None) -> list[Problem]:
    out: list[Problem] = []
    if not isinstance(expect, dict):
        return [rf.problem(items, i, cid, "expect: must be a mapping")]
    for key in expect:
        if key not in ("countries", "top", "not_countries", "threats", "not_threats", "regions", "severity"):
            out.append(rf.problem(expect, key, f"{cid}.expect.{key}", "unknown expectation"))
    if threats is not None:
        for key in ("threats", "not_threats"):
            for t in as_list(expect.get(key)):
                if str(t) not in threats:
                    out.append(rf.problem(expect, key, f"{cid}.expect.{key}", f"unknown threat type '{t}'"))
    if regions is not None:
        for key in ("countries", "not_countries", "regions", "top"):
            for r in as_list(expect.get(key)):
                if str(r) not in regions:
                    out.append(rf.problem(expect, key, f"{cid}.expect.{key}", f"unknown region '{r}'"))
    for s in as_list(expect.get("severity")):
        if str(s) not in _SEVERITIES:
            out.append(rf.problem(expect, "severity", f"{cid}.expect.severity", f"unknown severity '{s}'"))
    return out


def run_case(engine: Engine, case: Case) -> CaseResult:
    data = engine.analyse(case.title, case.text)
    countries: list[str] = data["countries"]
    threats = [t["type"] for t in data["threats"]]
    found_regions = {r["id"] for r in data["regions"]}
    exp = case.expect
    diffs: list[str] = []
    want = {str(c) for c in as_list(exp.get("countries"))}
    if "countries" in exp and set(countries) != want:
        diffs.append(f"countries: missing {sorted(want - set(countries))}, extra {sorted(set(countries) - want)}")
    if exp.get("top") and countries[:1] != [str(exp["top"])]:
        diffs.append(f"top country: want {exp['top']}, got {countries[:1]}")
    bad = {str(c) for c in as_list(exp.get("not_countries"))} & set(countries)
    if bad:
        diffs.append(f"countries that must not be there: {sorted(bad)}")
    want_t = {str(t) for t in as_list(exp.get("threats"))}
    if want_t - set(threats):
        diffs.append(f"threats missing: {sorted(want_t - set(threats))}")
    bad_t = {str(t) for t in as_list(exp.get("not_threats"))} & set(threats)
    if bad_t:
        diffs.append(f"threats that must not be there: {sorted(bad_t)}")
    missing_r = {str(r) for r in as_list(exp.get("regions"))} - found_regions
    if missing_r:
        diffs.append(f"regions missing: {sorted(missing_r)}")
    sev = [str(s) for s in as_list(exp.get("severity"))]
    if sev and data["severity"] not in sev:
        diffs.append(f"severity: want {' or '.join(sev)}, got {data['severity']}")
    return CaseResult(case, diffs, countries, threats, data["severity"])


def run_rule_tests(rule_dirs: Sequence[Path] = (), cache_dir: Path | None = None) -> RuleTestReport:
    """Run every case of the shipped and the user's ``tests/`` folders against the rules."""
    engine = load_engine(rule_dirs, cache_dir)
    sources = read_rule_sources(rule_dirs)
    cases, problems, skipped = load_cases(sources.test_dirs, set(engine.threat_types),
                                          set(engine.gazetteer.regions), load_boilerplate(rule_dirs))
    report = RuleTestReport(problems=problems, skipped=skipped)
    counts = report.counts
    for case in cases:
        result = run_case(engine, case)
        report.results.append(result)
        exp = case.expect
        if "countries" in exp:
            want = {str(c) for c in as_list(exp["countries"])}
            counts["country_expected"] = counts.get("country_expected", 0) + len(want)
            counts["country_found"] = counts.get("country_found", 0) + len(result.countries)
            counts["country_tp"] = counts.get("country_tp", 0) + len(want & set(result.countries))
        if "threats" in exp:
            want_t = {str(t) for t in as_list(exp["threats"])}
            counts["threat_expected"] = counts.get("threat_expected", 0) + len(want_t)
            counts["threat_found"] = counts.get("threat_found", 0) + len(result.threats)
            counts["threat_tp"] = counts.get("threat_tp", 0) + len(want_t & set(result.threats))
        if exp.get("severity"):
            counts["severity_cases"] = counts.get("severity_cases", 0) + 1
            counts["severity_ok"] = counts.get("severity_ok", 0) + (result.severity in
                                                                     [str(s) for s in as_list(exp["severity"])])
    return report


def check_rules(rule_dirs: Sequence[Path] = ()) -> list[Problem]:
    """Every problem in the shipped and user rules, their boilerplate markers and their test cases,
    with file:line; empty when all is well."""
    sources = read_rule_sources(rule_dirs)
    compiled, problems = compile_rules(sources)
    problems += read_boilerplate(rule_dirs)[1]
    if compiled is not None:
        known_threats = {t.id for t in compiled.taxonomy.types}
        _cases, case_problems, _skipped = load_cases(sources.test_dirs, known_threats,
                                                     set(compiled.gazetteer.regions))
        problems += case_problems
    return problems
