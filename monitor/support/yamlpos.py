"""A small YAML loader that keeps each node's line and column, so errors can name the place."""

from __future__ import annotations

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
