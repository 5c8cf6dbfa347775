"""Where the shipped rules and templates live, in a checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent


def shipped_rules_dir() -> Path:
    """The rules folder that ships with the package.

    A wheel carries it as ``monitor/_rules`` (see pyproject); a checkout or an editable install
    reads the top-level ``rules/`` folder beside the package.
    """
    bundled = _PACKAGE / "_rules"
    if bundled.is_dir():
        return bundled
    return _PACKAGE.parent / "rules"


def templates_dir() -> Path:
    return _PACKAGE / "digest" / "templates"
