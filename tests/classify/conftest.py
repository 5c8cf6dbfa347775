"""Fixtures for the classification tests: one engine per session, built into a private cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.classify.engine import Engine, load_engine

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / ".." / "shared" / "corpus"


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return load_engine(cache_dir=tmp_path_factory.mktemp("rules-cache"))


@pytest.fixture
def corpus() -> Path:
    if not (CORPUS / "advisories").is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS} (tests that read real advisories need it)")
    return CORPUS
