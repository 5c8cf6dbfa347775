"""Batched writes: one transaction per source poll, against a commit per row, on a SQLite file."""

from __future__ import annotations

import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from monitor.models import Item
from monitor.store import PollWrite, SourceState, Store, StoredEntry
from monitor.store.dedup import content_hash, fingerprint, item_id

N = 20_000


def items(now: datetime) -> list[StoredEntry]:
    out = []
    for i in range(N):
        text = f"Article {i} about floods in the region; roads are closed and schools shut. " * 4
        digest = content_hash(f"t{i}", text)
        item = Item(id=item_id("bench", f"g{i}", None, digest), source="bench", guid=f"g{i}", url=f"https://x/{i}",
                    title=f"Title {i}", text=text, first_seen=now, content_hash=digest)
        out.append(StoredEntry(item, fingerprint(text), True))
    return out


def main() -> None:
    now = datetime.now(UTC)
    entries = items(now)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/bench.db")
        t0 = time.perf_counter()
        for start in range(0, N, 1000):  # 20 polls of 1,000 entries, one transaction each
            store.write_poll(PollWrite(state=SourceState(name="bench"), new=entries[start:start + 1000]))
        batched = N / (time.perf_counter() - t0)
        store.close()

        raw = sqlite3.connect(Path(tmp) / "raw.db")
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("CREATE TABLE t (id TEXT PRIMARY KEY, title TEXT, text TEXT)")
        t0 = time.perf_counter()
        for e in entries[:5000]:
            raw.execute("INSERT INTO t VALUES (?, ?, ?)", (e.item.id, e.item.title, e.item.text))
            raw.commit()
        per_row = 5000 / (time.perf_counter() - t0)
        raw.close()
    print(f"store: {batched:,.0f} items/s batched per poll (SQLAlchemy, full item rows with fingerprints); "
          f"bare sqlite3 with a commit per row {per_row:,.0f} rows/s")


if __name__ == "__main__":
    main()
