"""Grouping cost: 10,000 classified items over 30 days filed into incidents, in batches as the
pipeline files them (one transaction per classification batch), on a SQLite file on one core.
Prints the cost per item for the first and the last thousand items (flat when candidates come from
the (country|threat, time) index, whatever the number of stored incidents), beside a bare baseline
measured in the same run: the same number of items written with one indexed insert each.

Usage: python bench/incidents.py [ITEMS] [BATCH]
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from monitor.config import IncidentsConfig
from monitor.incidents import Grouper
from monitor.models import Classification, Evidence, Item, RegionHit, Severity, ThreatHit
from monitor.store import Incidents, PollWrite, Store, StoredEntry

START = datetime(2026, 3, 1, tzinfo=UTC)
THREATS = ["terrorism", "civil_unrest", "crime", "armed_conflict", "natural_disaster", "health", "kidnapping"]
WORDS = ("police market station protest march rally bomb explosion gunmen fire flood quake storm hospital "
         "border village bridge airport port ministry governor army rebels strike curfew road convoy").split()
NAMES = ("Ahmed Garcia Novak Okafor Petrov Tanaka Silva Haddad Kowalski Mensah Rossi Dubois Nguyen Costa").split()


def item(rng: random.Random, n: int) -> tuple[Item, Classification]:
    country = f"C{rng.randrange(40):02d}"
    city = f"city{rng.randrange(3)}-{country.lower()}"
    threat = rng.choice(THREATS)
    # Events: an item retells one of a few hundred events (several outlets each), or is its own.
    event = rng.randrange(3000)
    er = random.Random(event)
    words = " ".join(er.choice(WORDS) for _ in range(12))
    who = er.choice(NAMES)
    title = f"{words.split()[0].capitalize()} in {city}: {er.randrange(2, 60)} hurt"
    text = (f"Officials said {who} confirmed the {words} on Monday, with {er.randrange(2, 60)} people killed. "
            f"{' '.join(rng.choice(WORDS) for _ in range(30))}.")
    when = START + timedelta(minutes=n * 30 * 24 * 60 // 10_000)
    it = Item(id=f"i{n}", source=f"s{rng.randrange(25)}", title=title, text=text, published=when, first_seen=when,
              content_hash=f"h{n}")
    cls = Classification(item_id=it.id, countries=[country], severity=Severity.high, rules_version="bench",
                         regions=[RegionHit(id=city, name=city, kind="city", country=country, role="primary")],
                         threats=[ThreatHit(type=threat, evidence=[Evidence(text=text[:80], start=0, end=80)])])
    return it, cls


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    rng = random.Random(18)
    pairs = [item(rng, n) for n in range(count)]
    folder = tempfile.mkdtemp(prefix="bench-incidents-")
    store = Store.open(f"sqlite:///{os.path.join(folder, 'm.db')}")
    for start in range(0, count, 500):
        chunk = pairs[start:start + 500]
        new = [StoredEntry(i, None, False) for i, _ in chunk]
        store.write_poll(PollWrite(state=store.source_state("bench"), new=new))
    grouper = Grouper(Incidents(store), IncidentsConfig())
    costs: list[float] = []
    for start in range(0, count, batch):
        chunk = pairs[start:start + batch]
        t0 = time.perf_counter()
        grouper.group(chunk)
        costs.append((time.perf_counter() - t0) / len(chunk))
    incidents = len(Incidents(store).listing())
    # Baseline: the bare store work of one indexed insert per item, in the same batches.
    t0 = time.perf_counter()
    for start in range(0, count, batch):
        with store.transaction() as conn:
            from sqlalchemy import insert

            from monitor.store import schema as t
            conn.execute(insert(t.dedup_keys), [{"key": n, "item_id": f"b{n}", "first_seen": START}
                                                for n in range(start, min(start + batch, count))])
    bare = (time.perf_counter() - t0) / count
    per_batch = max(1, 1000 // batch)
    first, last = sum(costs[:per_batch]) / per_batch, sum(costs[-per_batch:]) / per_batch
    mean = sum(costs) / len(costs)
    print(f"grouping {count} items over 30 days in batches of {batch}: {incidents} incidents")
    print(f"  per item: mean {mean * 1000:.3f} ms, first 1,000 {first * 1000:.3f} ms, last 1,000 {last * 1000:.3f} ms")
    thousands = [sum(costs[i:i + per_batch]) / per_batch * 1000 for i in range(0, len(costs), per_batch)]
    print("  per item by thousand (ms): " + " ".join(f"{c:.2f}" for c in thousands))
    print(f"  bare baseline (one indexed insert per item, same batches): {bare * 1000:.3f} ms; "
          f"ratio {mean / bare:.1f}x")
    store.close()


if __name__ == "__main__":
    main()
