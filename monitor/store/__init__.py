"""Store stage: the only code that runs SQL. SQLite by default (WAL), PostgreSQL by URL.

``core`` holds items, classifications and source state; ``outbox`` the digests, their claims and
deliveries; ``levels`` the official advisory levels. Everything is importable from here.
"""

from __future__ import annotations

from monitor.store.core import DuplicateRecord, PollWrite, SourceState, Store, StoredEntry
from monitor.store.levels import AdvisoryLevels, LevelHistoryRow, LevelRow, LevelWrite, write_levels
from monitor.store.outbox import DeliveryRecord, DigestRecord, FactRow, Outbox

__all__ = ["AdvisoryLevels", "DeliveryRecord", "DigestRecord", "DuplicateRecord", "FactRow", "LevelHistoryRow",
           "LevelRow", "LevelWrite", "Outbox", "PollWrite", "SourceState", "Store", "StoredEntry", "write_levels"]
