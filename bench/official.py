"""Official sources: parsing the 210-item US advisories feed into structured items, and change
detection over 1,000 (issuer, country) pairs; each printed beside its bare baseline, one core.

Usage: python bench/official.py [US_FEED_XML]   (default: ../shared/corpus/feeds/...)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.official import us
from monitor.official.changes import Observation, detect
from monitor.sources.feedparsing import parse_feed
from monitor.store import LevelRow

FEED = Path(__file__).resolve().parents[2] / "shared/corpus/feeds/bharris183__travel_alerts__travel_advisories.xml"
RUNS = 20


def best(fn: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else FEED
    data = path.read_bytes()
    us.annotate(parse_feed("us", data)[0], "us")  # warm the country tables once, as a daemon would

    bare = best(lambda: parse_feed("us", data))
    full = best(lambda: us.annotate(parse_feed("us", data)[0], "us"))
    count = len(parse_feed("us", data)[0])
    print(f"US feed ({count} items): parse + structured fields {full * 1000:.1f} ms "
          f"(bare feedparser parse {bare * 1000:.1f} ms; budget 500 ms)")

    now = datetime.now(UTC)
    current = {("us", f"C{i:04d}"): LevelRow("us", f"C{i:04d}", 1 + i % 4, False, "l", now - timedelta(days=3), now)
               for i in range(1000)}
    observed = [Observation("us", f"C{i:04d}", 1 + (i + (i % 10 == 0)) % 4, i % 50 == 0, "l", None, None)
                for i in range(1000)]
    bare_lookup = best(lambda: [current.get((o.issuer, o.country)) for o in observed])
    detection = best(lambda: detect(current, observed, now))
    changes = len(detect(current, observed, now).changes)
    print(f"change detection, 1,000 pairs ({changes} changes): {detection * 1000:.2f} ms "
          f"(bare dict lookups {bare_lookup * 1000:.2f} ms; budget 50 ms)")


if __name__ == "__main__":
    main()
