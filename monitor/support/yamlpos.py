"""The YAML position loader: data read from YAML keeps where each part came from, so an error can
name the file and line.

Two views of one parse, for two kinds of reader:
- ``load_located``: plain data plus a line and column for every key path (the config, whose
  validator reports errors by path).
- ``load_lined``: mappings and lists that carry the line of each key and item (``LineDict``,
  ``LineList``, read with ``line_of``), plus the duplicate keys found (rule files, rule test cases
  and boilerplate markers, whose readers walk the data and report as they go).

Both refuse what a hostile or careless file can do to a loader: aliases that expand to
millions of nodes (a "billion laughs" of a few hundred bytes took minutes of CPU) and documents
far larger than any config or rules file; ``load_located`` also refuses a key written twice (YAML
keeps the last silently), ``load_lined`` reports them to its reader.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]

# Far above any real config or rules file (the shipped regions.yaml has about 40,000 nodes), far
# below what an alias bomb expands to (9 aliases over 8 levels: 43 million).
MAX_NODES = 1_000_000
MAX_CHARS = 20_000_000


class DuplicateKeyError(yaml.MarkedYAMLError):
    """A mapping names the same key twice; ``path`` is the repeated key's path."""

    def __init__(self, path: Path_, first_line: int, mark: yaml.Mark) -> None:
        super().__init__(problem=f"key '{path[-1]}' is written twice (first at line {first_line}); "
                                 "remove one: the later would silently replace the earlier",
                         problem_mark=mark)
        self.path = path


class TooLargeError(yaml.MarkedYAMLError):
    """The document, or what its aliases expand to, is larger than any real file of ours."""


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


@dataclass
class _Converter:
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def convert(self, node: yaml.Node, path: Path_) -> Any:
        self.positions[path] = self.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(v, (*path, i)) for i, v in enumerate(node.value)]
        return _scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node)) if not isinstance(key_node, yaml.ScalarNode) \
                else _scalar(key_node)
            child = (*path, key)
            if key in out:
                raise DuplicateKeyError(child, self.positions[child][0], key_node.start_mark)
            out[key] = self.convert(value_node, child)
            # The key's own position is the more useful one for "unknown key" errors.
            self.positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
        return out


def _refuse_size(text: str) -> None:
    if len(text) > MAX_CHARS:
        raise TooLargeError(problem=f"the file has more than {MAX_CHARS:,} characters; no config or rules "
                                    "file is that large")


def _refuse_expansion(root: yaml.Node) -> None:
    """Aliases share nodes in the composed graph and converting expands them: count the expanded
    size first, in time linear in the graph (each shared node's size is counted once)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:  # depth first, a node's size once all its children have theirs
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if not children_done:
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
            continue
        size = 1 + sum(sizes[id(child)] for child in _children(node))
        if size > MAX_NODES:
            raise TooLargeError(problem=f"the document expands to more than {MAX_NODES:,} values "
                                        "(aliases nested too deep?)", problem_mark=node.start_mark)
        sizes[id(node)] = size


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _scalar(node: yaml.Node) -> Any:
    constructor = yaml.SafeLoader("")
    try:
        return constructor.construct_object(node, deep=True)
    finally:
        constructor.dispose()


def load_located(text: str) -> Located:
    """Parse one YAML document; raises ``yaml.YAMLError`` (with a mark) when it is not YAML, when a
    key is written twice (``DuplicateKeyError``) or when it is too large (``TooLargeError``)."""
    _refuse_size(text)
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    converter = _Converter()
    if node is None:
        return Located(None, converter.positions, converter.values)
    _refuse_expansion(node)
    data = converter.convert(node, ())
    return Located(data, converter.positions, converter.values)


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
    _refuse_size(text)
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Lined(None, loader.duplicates)
        # Constructing shares aliased objects, but every reader walks them expanded.
        _refuse_expansion(node)
        return Lined(loader.construct_document(node), loader.duplicates)
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
