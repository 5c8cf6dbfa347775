"""Migration 0004: sketches stored by releases that hashed shingles with Python's hash() are remade
with the fixed hash from the items' stored text (each with the shingle size it was made with), and
the near-duplicate index is emptied for the daemon to file again; a copy of an old story is still
found after the upgrade."""

from __future__ import annotations

import heapq
import re
import zlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, null, select, text

from monitor.models import Item
from monitor.store import PollWrite, Store, StoredEntry
from monitor.store import schema as t
from monitor.store.dedup import Fingerprint, fingerprint, similarity, sketch
from monitor.store.migrate import current, head

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TEXTS = {
    "a": ("Floods in Sindh", "Heavy rain flooded 40 villages near Hyderabad on Monday, officials said, and roads to "
                             "Karachi were closed while rescue teams reached stranded families."),
    "b": ("Protest in Tbilisi", "Thousands marched to parliament in Tbilisi on Sunday evening; police closed "
                                "Rustaveli Avenue and the metro station nearby."),
    "c": ("Short", "Airport shut"),  # fewer words than a shingle
}
SHINGLES = {"a": 4, "b": 5, "c": 4}  # `b` stored while the config said shingle_words: 5


def _old_fingerprint(text_: str, shingle_words: int) -> Fingerprint:
    """monitor/store/dedup.py's fingerprint as the releases before 0004 computed it."""
    words = re.findall(r"\w+", text_.casefold())
    word_hash = {w: zlib.crc32(w.encode()) for w in set(words)}
    hashed = [word_hash[w] for w in words]
    if len(hashed) < shingle_words:
        shingles = {hash(tuple(hashed))}
    else:
        shingles = set(map(hash, zip(*(hashed[i:] for i in range(shingle_words)), strict=False)))
    new = fingerprint(text_, shingle_words)
    return Fingerprint(tuple(heapq.nsmallest(64, shingles)), new.numbers, new.names, new.day, new.places)


def _old_database(url: str) -> dict[str, list[int]]:
    """A database at revision 0003 holding items with old sketches and index keys; their sketches."""
    store = Store.open(url)
    entries = []
    for item_id, (title, body) in TEXTS.items():
        item = Item(id=item_id, source="news", title=title, text=body, first_seen=NOW, content_hash=item_id)
        entries.append(StoredEntry(item, _old_fingerprint(f"{title}\n{body}", SHINGLES[item_id]), False))
    store.write_poll(PollWrite(state=store.source_state("news"), new=entries,
                               dedup_keys=[(e.item.id, e.fingerprint.sketch[0]) for e in entries if e.fingerprint]))
    with store.transaction() as conn:
        conn.execute(insert(t.items).values(id="legacy", source="news", title="x", text="y", first_seen=NOW,
                                            content_hash="legacy", fingerprint=null()))
        # Written with today's code, then made as old as the data (0004 changes no table).
        conn.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    store.close()
    return {e.item.id: list(e.fingerprint.sketch) for e in entries if e.fingerprint}


def test_old_sketches_are_remade_with_the_fixed_hash(database_url: str) -> None:
    old = _old_database(database_url)
    store = Store.open(database_url)
    try:
        assert current(store.engine) == head()
        with store.engine.connect() as conn:
            stored = {r.id: r.fingerprint for r in conn.execute(select(t.items.c.id, t.items.c.fingerprint))}
            assert conn.execute(select(t.dedup_keys)).all() == []  # refiled by the daemon from the new sketches
        for item_id, (title, body) in TEXTS.items():
            remade = stored[item_id]
            assert remade["s"] == list(sketch(f"{title}\n{body}", SHINGLES[item_id])) != old[item_id]
            assert Fingerprint.from_json(remade).numbers == fingerprint(body).numbers  # the rest as it was
        assert stored["legacy"] is None
        # A syndicated copy of an old story, fingerprinted by today's code, matches the stored one.
        title, body = TEXTS["a"]
        copy = fingerprint(f"{title}\n{body}\nShare this article", 4)
        found = {c.item_id: c for c in store.dedup_candidates(NOW - timedelta(days=1))}
        assert similarity(copy, found["a"].fp) >= 0.8
    finally:
        store.close()
