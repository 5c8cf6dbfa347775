"""Fixtures for the classification tests: the shared corpus (the engine is tests/conftest.py's)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / ".." / "shared" / "corpus"


@pytest.fixture
def corpus() -> Path:
    if not (CORPUS / "advisories").is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS} (tests that read real advisories need it)")
    return CORPUS
