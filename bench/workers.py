"""Issue 9: the cost of coordination. Feeds on a loopback server gain an item every few seconds;
one daemon on SQLite, then one, two and four workers sharing one PostgreSQL database (a throwaway
server from Debian's binaries, tests/pg.py). For each: items/s ingested and classified, latency from
an item's publication to its digest (p50/p95), lost and doubled items, and database transactions per
poll on PostgreSQL (two of them are the lease's: the claim, with its due check, and the release; a
heartbeat adds one per worker every lease/3). On a two-core machine the point is what coordination
costs, not a speed-up: figures are given as a ratio to one daemon on SQLite measured in the same run.

Usage: bench/workers.py [--feeds 200] [--seconds 40] [--every 10s] [--item-every 5]
"""

from __future__ import annotations

import argparse
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from loopback import Peers, daemon_config, free_port
from soak import EXE, GrowingFeeds

from tests.pg import PostgresServer, start_server, unavailable_reason

WARM_UP = 15.0


def metric(port: int, name: str) -> float:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return 0.0
    return sum(float(v) for v in re.findall(rf"^{name}(?:\{{[^}}]*\}})?\s+(\S+)", text, re.M))


def transactions(server: PostgresServer, database: str) -> int:
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 port={server.port} user=monitor dbname=postgres", autocommit=True) as conn:
        row = conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                           (database,)).fetchone()
    return int(row[0]) if row else 0


def run(label: str, database: str, workers: int, args: argparse.Namespace,
        server: PostgresServer | None) -> dict[str, float]:
    peers = Peers()
    growing = GrowingFeeds(args.feeds, args.item_every)
    for i in range(args.feeds):
        peers.feeds[f"/f{i}.xml"] = (lambda i=i: growing.body(i))
    sources = "\n".join(f'  - {{name: f{i}, kind: feed, url: "{peers.url(f"/f{i}.xml")}", every: {args.every}}}'
                        for i in range(args.feeds))
    ops = [free_port() for _ in range(workers)]
    procs = []
    with tempfile.TemporaryDirectory() as work:
        db = database.replace("WORK", work)
        for w in range(workers):
            config = Path(work) / f"worker{w}.yaml"
            config.write_text(daemon_config(db, ops[w], sources, peers.url("/hook")), encoding="utf-8")
            log = (Path(work) / f"log{w}").open("w")
            procs.append(subprocess.Popen([str(EXE), "run", "--config", str(config)], stdout=subprocess.DEVNULL,
                                          stderr=log))
        time.sleep(WARM_UP)
        dbname = db.rsplit("/", 1)[1]
        start = time.time()
        counts0 = [sum(metric(p, n) for p in ops) for n in ("advisory_monitor_items_ingested_total",
                                                            "advisory_monitor_items_classified_total",
                                                            "advisory_monitor_polls_total")]
        tx0 = transactions(server, dbname) if server else 0
        time.sleep(args.seconds)
        counts1 = [sum(metric(p, n) for p in ops) for n in ("advisory_monitor_items_ingested_total",
                                                            "advisory_monitor_items_classified_total",
                                                            "advisory_monitor_polls_total")]
        tx1 = transactions(server, dbname) if server else 0
        elapsed = time.time() - start
        cutoff = time.time() - 30
        time.sleep(12)
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)
        errors = sum(1 for w in range(workers) for line in (Path(work) / f"log{w}").read_text().splitlines()
                     if " ERROR " in line)
    keys: dict[str, set[str]] = {}
    with peers.lock:
        for _, payload in peers.hooks:
            for item in payload.get("items", []):
                keys.setdefault(item["title"], set()).add(payload.get("digest_id", ""))
    delivered = peers.delivered()
    peers.close()
    with growing.lock:
        published = dict(growing.published)
    due = {t: w for t, w in published.items() if start - 5 < w < cutoff}
    latencies = sorted(delivered[t] - w for t, w in due.items() if t in delivered)
    polls = max(1.0, counts1[2] - counts0[2])
    result = {
        "ingested": (counts1[0] - counts0[0]) / elapsed, "classified": (counts1[1] - counts0[1]) / elapsed,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": latencies[max(0, int(len(latencies) * 0.95) - 1)] if latencies else float("nan"),
        "lost": sum(1 for t in due if t not in delivered), "doubled": sum(1 for v in keys.values() if len(v) > 1),
        "polls": polls / elapsed, "tx_per_poll": (tx1 - tx0) / polls if server else float("nan"),
        "errors": errors,
    }
    print(f"  {label:<22} ingested {result['ingested']:6.1f}/s  classified {result['classified']:6.1f}/s  "
          f"polls {result['polls']:5.1f}/s  latency p50 {result['p50']:5.1f}s p95 {result['p95']:5.1f}s  "
          f"lost {result['lost']}/{len(due)}  doubled {result['doubled']}  "
          + (f"db transactions/poll {result['tx_per_poll']:.1f}  " if server else "")
          + f"ERROR lines {errors}", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--every", default="10s")
    parser.add_argument("--item-every", type=float, default=5.0)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    reason = unavailable_reason()
    if reason:
        sys.exit(f"bench/workers.py needs PostgreSQL: {reason}")
    print(f"workers: {args.feeds} feeds every {args.every}, an item per feed every {args.item_every:g}s, "
          f"{args.seconds:g}s measured after {WARM_UP:g}s warm-up", flush=True)
    base = run("sqlite, 1 daemon", "sqlite:///WORK/monitor.db", 1, args, None)
    rows = []
    for server in start_server():
        for n in [int(x) for x in args.workers.split(",")]:
            rows.append((n, run(f"postgresql, {n} worker{'s' if n > 1 else ''}", server.create_database(), n,
                                args, server)))
    for n, r in rows:
        plural = "s" if n > 1 else ""
        print(f"  ratio to sqlite x1, {n} worker{plural}: ingested {r['ingested'] / max(base['ingested'], 1e-9):.2f}x"
              f"  classified {r['classified'] / max(base['classified'], 1e-9):.2f}x"
              f"  p50 latency {r['p50'] / base['p50']:.2f}x  p95 latency {r['p95'] / base['p95']:.2f}x")


if __name__ == "__main__":
    main()
