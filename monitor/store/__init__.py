"""Store stage: the only code that runs SQL. SQLite by default (WAL), PostgreSQL by URL.

``core`` holds items, classifications and source state; ``outbox`` the digests, their claims and
deliveries; ``levels`` the official advisory levels;
``incidents`` the grouping of items into incidents; ``geometry`` the items' shapes for sites;
``leases`` how several workers share one PostgreSQL database; ``dedup`` item ids and the
near-duplicate sketches stored with items. Every SQLAlchemy error leaves the package as
``monitor.errors.StoreError`` with its ``transient`` flag (``translate``). Everything is importable
from here except ``migrate`` (it loads Alembic, which only opening a database needs).
"""

from __future__ import annotations

from monitor.store.core import DuplicateRecord, PollWrite, SourceState, Store, StoredEntry
from monitor.store.dedup import Candidate, Fingerprint, NearDuplicateIndex, content_hash, fingerprint, item_id
from monitor.store.geometry import ItemGeometry
from monitor.store.incidents import EventRow, GroupingSession, IncidentRow, Incidents, ReportRow
from monitor.store.leases import LeaseRow, Leases, WorkerRow, assign, current_leases, live_workers
from monitor.store.levels import AdvisoryLevels, LevelHistoryRow, LevelRow, LevelWrite, write_levels
from monitor.store.outbox import DeliveryRecord, DigestRecord, FactRow, Outbox
from monitor.store.translate import is_transient

__all__ = [
           "AdvisoryLevels", "Candidate", "DeliveryRecord", "DigestRecord", "DuplicateRecord", "EventRow",
           "FactRow", "Fingerprint", "GroupingSession", "IncidentRow", "Incidents", "ItemGeometry", "LeaseRow",
           "Leases", "LevelHistoryRow", "LevelRow", "LevelWrite", "NearDuplicateIndex", "Outbox", "PollWrite",
           "ReportRow", "SourceState", "Store", "StoredEntry", "WorkerRow", "assign", "content_hash",
           "current_leases", "fingerprint", "is_transient", "item_id", "live_workers", "write_levels"]
