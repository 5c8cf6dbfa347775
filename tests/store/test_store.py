"""The store on real SQLite files and a real PostgreSQL server: finding what to classify,
classification order, the stored near-duplicate index, and opening a database made before these
columns existed."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.models import Classification, Item, Severity
from monitor.sources.ingest import StoredIndex, index_keys
from monitor.store import PollWrite, Store, StoredEntry
from monitor.store.dedup import Candidate, fingerprint

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _item(item_id: str, text: str = "A bomb exploded in Baku.") -> Item:
    return Item(id=item_id, source="news", title=item_id, text=text, first_seen=NOW, content_hash=item_id)


def _classify(store: Store, item_id: str, version: str = "v1") -> None:
    cls = Classification(item_id=item_id, title=item_id, source="news", countries=[], severity=Severity.low,
                         rules_version=version)
    store.save_classifications([(cls, [])])


def _add(store: Store, *ids: str) -> None:
    store.write_poll(PollWrite(state=store.source_state("news"), new=[StoredEntry(_item(i), None, False) for i in ids]))


def test_unclassified_follows_versions_and_new_versions_of_items(database_url: str) -> None:
    store = Store.open(database_url)
    _add(store, "a", "b", "c")
    assert [i.id for i in store.unclassified("v1")] == ["a", "b", "c"]
    _classify(store, "a")
    _classify(store, "b")
    assert [i.id for i in store.unclassified("v1")] == ["c"]
    assert [i.id for i in store.unclassified("v2")] == ["a", "b", "c"]  # other rules: everything again
    assert [i.id for i in store.unclassified("v0", limit=2)] == ["a", "b"]
    # A new version of an item forgets its classification.
    changed = StoredEntry(_item("a", "A second bomb exploded in Baku.").model_copy(update={"version": 2}), None, False)
    store.write_poll(PollWrite(state=store.source_state("news"), changed=[changed]))
    assert [i.id for i in store.unclassified("v1")] == ["a", "c"]
    store.close()


def test_classification_order_never_goes_back(database_url: str) -> None:
    store = Store.open(database_url)
    _add(store, "a", "b")
    assert store.classification_mark() == 0
    _classify(store, "a")
    _classify(store, "b")
    assert store.classification_mark() == 2
    # The latest classification is forgotten (a new version): the next one still comes later.
    changed = StoredEntry(_item("b", "changed").model_copy(update={"version": 2}), None, False)
    store.write_poll(PollWrite(state=store.source_state("news"), changed=[changed]))
    _classify(store, "a")
    assert store.classification_mark() == 3
    store.close()
    reopened = Store.open(database_url)
    assert reopened.classification_mark() == 3
    reopened.close()


def test_a_database_from_before_the_new_columns_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = Store.open(f"sqlite:///{path}")
    _add(store, "a", "b")
    _classify(store, "a")
    store.close()
    with sqlite3.connect(path) as conn:  # what the previous release left behind
        conn.execute("DROP INDEX ix_items_classified_version")
        conn.execute("DROP INDEX ix_classifications_seq")
        conn.execute("ALTER TABLE items DROP COLUMN classified_version")
        conn.execute("ALTER TABLE classifications DROP COLUMN seq")
        conn.execute("DROP TABLE dedup_keys")
        conn.execute("ALTER TABLE deliveries DROP COLUMN recipients")
        for table in ("alembic_version", "workers", "leases"):  # the previous release had no migrations
            conn.execute(f"DROP TABLE {table}")
    for _ in range(2):  # a second start finds nothing to do
        store = Store.open(f"sqlite:///{path}")
        assert [i.id for i in store.unclassified("v1")] == ["b"]  # "a" keeps its classification
        store.close()
    with sqlite3.connect(path) as conn:
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"ix_items_classified_version", "ix_classifications_seq", "ix_dedup_keys_key"} <= indexes


STORY = ("Protesters clash with police in Lima, Peru. Police used tear gas; {n} people were injured in the "
         "clashes near the congress building, officials said on Monday evening.")


def test_stored_index_finds_copies_after_a_restart_and_only_with_the_same_figures(database_url: str) -> None:
    store = Store.open(database_url)
    original = _item("orig", STORY.format(n=5))
    fp = fingerprint(STORY.format(n=5))
    index = StoredIndex(store, 0.8, lambda: NOW - timedelta(days=30))
    index.add(Candidate("orig", "news", True, fp))
    # Within the poll being planned, the index knows the item before it is written.
    assert index.find("wire", False, fp) is not None
    write = PollWrite(state=store.source_state("news"), new=[StoredEntry(original, fp, True)],
                      dedup_keys=index.written())
    assert {k for _, k in write.dedup_keys} == set(index_keys(fp))
    store.write_poll(write)
    store.close()
    store = Store.open(database_url)
    fresh = StoredIndex(store, 0.8, lambda: NOW - timedelta(days=30))
    copy = fingerprint(STORY.format(n=5) + " Trending now")
    found = fresh.find("wire", False, copy)
    assert found is not None and found[0].item_id == "orig"
    # Same wording, another figure: another event, and not even in the same bucket.
    other = fingerprint(STORY.format(n=6))
    assert fresh.find("wire", False, other) is None
    assert not set(index_keys(other)) & set(index_keys(fp))
    # Out of the window: dropped from the index.
    assert store.forget_dedup_keys(NOW + timedelta(days=1)) == len(index_keys(fp))
    assert fresh.find("wire", False, copy) is None
    store.close()
