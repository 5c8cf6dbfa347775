"""Import edges the layout depends on, function-level imports included."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import monitor

ROOT = Path(monitor.__file__).parent


def _imports(path: Path) -> Iterator[tuple[str, str | None]]:
    """(module, name imported from it or None) of every import in the file."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield from ((node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from ((alias.name, None) for alias in node.names)


def test_the_presets_never_import_their_package() -> None:
    # The package imports the presets to register them: a name taken from it would be a cycle.
    # Submodules (``from monitor.official import countries``) are fine.
    submodules = {path.stem for path in (ROOT / "official").glob("*.py")}
    for path in (ROOT / "official").glob("*.py"):
        names = {name for module, name in _imports(path) if module == "monitor.official"}
        assert names <= submodules, f"{path.name} imports {names - submodules} from monitor.official"


def test_travel_never_imports_alerts() -> None:
    for path in (ROOT / "travel").glob("*.py"):
        back = {module for module, _ in _imports(path) if module.split(".")[:2] == ["monitor", "alerts"]}
        assert not back, f"{path.name} imports {back}"
