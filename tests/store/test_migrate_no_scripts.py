"""An installation without its migration scripts is a clear StoreError, not an assertion deep
inside the upgrade (monitor/store/migrate.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from monitor.errors import StoreError
from monitor.store import migrate


def test_missing_migration_scripts_are_a_store_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "versions").mkdir()
    monkeypatch.setattr(migrate, "MIGRATIONS", tmp_path)
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        with engine.begin() as conn, pytest.raises(StoreError, match="no migration scripts"):
            migrate._upgrade(conn)
    finally:
        engine.dispose()
