"""The YAML position loader: data read from YAML keeps where each part came from, so an error can
name the file and line.

Two views of one parse, for two kinds of reader:
- ``load_located``: plain data plus a line and column for every key path (the config, whose
  validator reports errors by path).
- ``load_lined``: mappings and lists that carry the line of each key and item (``LineDict``,
  ``LineList``, read with ``line_of``), plus the duplicate keys found (rule files, rule test cases
  and boilerplate markers, whose readers walk the data and report as they go).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


@dataclass
class Located:
    """Plain Python data from a YAML document, with a position for every key path."""

    data: Any
    # Where each key (or list element) starts, and where each value starts.
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    value_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Path_, *, value: bool = False) -> tuple[int, int] | None:
        """The position of ``path`` (its value's, if asked) or of its nearest ancestor."""
        if value and tuple(path) in self.value_positions:
            return self.value_positions[tuple(path)]
        for end in range(len(path), -1, -1):
            found = self.positions.get(tuple(path[:end]))
            if found:
                return found
        return None


def _convert(node: yaml.Node, path: Path_, positions: dict[Path_, tuple[int, int]],
             values: dict[Path_, tuple[int, int]]) -> Any:
    positions[path] = values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node)) if not isinstance(key_node, yaml.ScalarNode) \
                else _scalar(key_node)
            child = (*path, key)
            out[key] = _convert(value_node, child, positions, values)
            # The key's own position is the more useful one for "unknown key" errors.
            positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(v, (*path, i), positions, values) for i, v in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    constructor = yaml.SafeLoader("")
    try:
        return constructor.construct_object(node, deep=True)
    finally:
        constructor.dispose()


def load_located(text: str) -> Located:
    """Parse one YAML document; raises ``yaml.YAMLError`` (with a mark) when it is not YAML."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    positions: dict[Path_, tuple[int, int]] = {}
    values: dict[Path_, tuple[int, int]] = {}
    if node is None:
        return Located(None, positions, values)
    return Located(_convert(node, (), positions, values), positions, values)


class LineDict(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers the line of each key (1-based)."""

    lines: dict[Any, int]
    line: int


class LineList(list):  # type: ignore[type-arg]
    """A YAML sequence that remembers the line of each item (1-based)."""

    lines: list[int]
    line: int


@dataclass
class Lined:
    """One YAML document read by ``load_lined``."""

    data: Any  # LineDict, LineList or a scalar; None for an empty document
    duplicates: list[tuple[Any, int]] = field(default_factory=list)  # (key, line) of each repeated key


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
        if not isinstance(key, Hashable):
            # As SafeLoader says it, so that a reader need only catch yaml.YAMLError.
            raise yaml.constructor.ConstructorError("while constructing a mapping", node.start_mark,
                                                    "found unhashable key", key_node.start_mark)
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


def load_lined(text: str) -> Lined:
    """Parse one YAML document into ``LineDict``/``LineList`` containers; raises ``yaml.YAMLError``
    (with a mark, see ``error_line``) when it is not YAML."""
    loader = _LineLoader(text)
    try:
        return Lined(loader.get_single_data(), loader.duplicates)
    finally:
        loader.dispose()


def line_of(container: Any, key: Any) -> int | None:
    """The line of ``key`` (a mapping key or a list index) in a ``load_lined`` container, else of
    the container itself, if known."""
    lines = getattr(container, "lines", None)
    if isinstance(lines, dict):
        found = lines.get(key)
    elif isinstance(lines, list) and isinstance(key, int) and 0 <= key < len(lines):
        found = lines[key]
    else:
        found = getattr(container, "line", None)
    return found if isinstance(found, int) else None


def error_line(exc: yaml.YAMLError) -> int | None:
    """The line (1-based) a YAML error points at, if it has one."""
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 if mark else None
