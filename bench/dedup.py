"""Near-duplicate detection speed: fingerprint + index lookup + insert over 10,000 items of ~2 KB.

Target (issue 2): >= 2,000 items/s on one core. Also prints a baseline: the same items' shingles
hashed with no sketching, to show what the sketch itself costs.
"""

from __future__ import annotations

import random
import time
import zlib

from monitor.store.dedup import Candidate, NearDuplicateIndex, fingerprint

WORDS = ("police army attack border city region minister president said killed wounded protest election "
         "flood earthquake storm market hotel embassy warning travel advisory citizens foreign government "
         "province capital village road bridge airport train fuel prices court judge").split()


def make_items(n: int, rng: random.Random) -> list[str]:
    items = []
    for i in range(n):
        if i % 10 == 9:  # every tenth is a syndicated copy of an earlier one with other furniture
            items.append(items[rng.randrange(len(items))] + "\nShare this article\nMost read")
            continue
        words = [rng.choice(WORDS) for _ in range(330)]
        items.append(f"Story {i}: " + " ".join(words))
    return items


def main() -> None:
    rng = random.Random(7)
    items = make_items(10_000, rng)
    size = sum(len(t) for t in items) / len(items)
    t0 = time.perf_counter()
    for text in items:
        words = text.casefold().split()
        {zlib.crc32(" ".join(words[i:i + 4]).encode()) for i in range(len(words) - 3)}
    bare = time.perf_counter() - t0

    index = NearDuplicateIndex(threshold=0.8)
    dups = 0
    t0 = time.perf_counter()
    for i, text in enumerate(items):
        fp = fingerprint(text)
        if index.find("bench", False, fp):
            dups += 1
        else:
            index.add(Candidate(str(i), "bench", False, fp))
    took = time.perf_counter() - t0
    rate = len(items) / took
    print(f"near-duplicate detection: {rate:,.0f} items/s over {len(items):,} items of {size:,.0f} chars "
          f"({dups} duplicates found, 1,000 planted); bare shingle hashing {len(items) / bare:,.0f} items/s; "
          f"target >= 2,000 items/s: {'OK' if rate >= 2000 else 'SHORT'}")


if __name__ == "__main__":
    main()
