"""Issue 5 soak: many feeds on a loopback server, each adding an item every few seconds, polled by
the daemon for several minutes. Prints resident memory at warm-up and at the end, CPU per poll,
lost items, and latency from an item's publication to its digest (p50/p95).

Usage: bench/soak.py [--feeds 500] [--minutes 10] [--every 10s] [--item-every 5]
"""

from __future__ import annotations

import argparse
import email.utils
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from loopback import Peers, free_port

EXE = Path(sys.executable).with_name("advisory-monitor")
PLACES = ["Karachi, Pakistan", "Lagos, Nigeria", "Dhaka, Bangladesh", "Lima, Peru", "Manila, Philippines",
          "Nairobi, Kenya", "Quito, Ecuador", "Kabul, Afghanistan", "Bamako, Mali", "Caracas, Venezuela"]


class GrowingFeeds:
    """Feed i publishes item k at start + offset_i + k * item_every; each feed shows its last 10 items."""

    def __init__(self, feeds: int, item_every: float) -> None:
        self.start = time.time()
        self.feeds, self.item_every = feeds, item_every
        self.published: dict[str, float] = {}
        self.lock = threading.Lock()

    def body(self, i: int) -> bytes:
        now = time.time()
        offset = (i * self.item_every) / self.feeds
        count = int(max(0.0, now - self.start - offset) // self.item_every) + 1
        items = []
        for k in range(max(0, count - 10), count):
            when = self.start + offset + k * self.item_every
            place = PLACES[(i + k) % len(PLACES)]
            title = f"Protesters clash with police in {place} (report {i}-{k})"
            with self.lock:
                self.published.setdefault(title, when)
            items.append(f"<item><title>{title}</title><guid>f{i}-{k}</guid>"
                         f"<pubDate>{email.utils.formatdate(when, usegmt=True)}</pubDate>"
                         f"<description>{title}. Police used tear gas; {k + 3} people were injured in the "
                         f"clashes, officials said on day {i}.</description></item>")
        return ('<?xml version="1.0"?><rss version="2.0"><channel><title>soak</title>'
                + "".join(items) + "</channel></rss>").encode()


def rss_kb(pid: int) -> int:
    total = 0
    for p in [pid, *children(pid)]:
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        except (OSError, AttributeError):
            pass
    return total


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in [pid, *children(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError):
            pass
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--every", default="10s")
    parser.add_argument("--item-every", type=float, default=5.0)
    args = parser.parse_args()
    peers = Peers()
    growing = GrowingFeeds(args.feeds, args.item_every)
    for i in range(args.feeds):
        peers.feeds[f"/f{i}.xml"] = (lambda i=i: growing.body(i))
    ops = free_port()
    with tempfile.TemporaryDirectory() as work:
        sources = "\n".join(f'  - {{name: f{i}, kind: feed, url: "{peers.url(f"/f{i}.xml")}", every: {args.every}}}'
                            for i in range(args.feeds))
        config = Path(work) / "config.yaml"
        config.write_text(f"""
database: sqlite:///{work}/monitor.db
server: {{host: 127.0.0.1, port: {ops}}}
sources:
{sources}
alerts:
  - name: all
    match: {{threats: [civil_unrest], min_severity: none}}
    schedule: immediate
    max_items: 1000
    deliver:
      - {{kind: webhook, url: "{peers.url('/hook')}"}}
""", encoding="utf-8")
        log = (Path(work) / "log").open("w")
        proc = subprocess.Popen([str(EXE), "run", "--config", str(config)], stdout=subprocess.DEVNULL, stderr=log)
        duration = args.minutes * 60
        warm_at = min(60.0, duration / 3)
        started = time.time()
        rss_warm = cpu_warm = None
        samples = []
        while time.time() - started < duration:
            time.sleep(5)
            samples.append(rss_kb(proc.pid))
            if rss_warm is None and time.time() - started >= warm_at:
                rss_warm, cpu_warm = samples[-1], cpu_seconds(proc.pid)
                polls_warm = polls(ops)
        rss_end, cpu_end, polls_end = rss_kb(proc.pid), cpu_seconds(proc.pid), polls(ops)
        cutoff = time.time() - 30  # items published in the last 30 s may still be on their way
        time.sleep(15)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()
    delivered = peers.delivered()
    peers.close()
    with growing.lock:
        published = dict(growing.published)
    due = {t: w for t, w in published.items() if w < cutoff}
    lost = [t for t in due if t not in delivered]
    latencies = sorted(delivered[t] - w for t, w in due.items() if t in delivered)
    p50 = statistics.median(latencies) if latencies else float("nan")
    p95 = latencies[int(len(latencies) * 0.95) - 1] if latencies else float("nan")
    cpu_per_poll = (cpu_end - (cpu_warm or 0)) / max(1, polls_end - polls_warm) * 1000
    print(f"soak: {args.feeds} feeds every {args.every} for {args.minutes:g} min; {len(published)} items published, "
          f"{len(delivered)} delivered, {len(lost)} of {len(due)} due items lost; RSS after warm-up "
          f"{(rss_warm or 0) / 1024:.0f} MB, at the end {rss_end / 1024:.0f} MB (daemon + parse workers); "
          f"CPU per poll {cpu_per_poll:.1f} ms; latency publish->digest p50 {p50:.1f}s p95 {p95:.1f}s")


def polls(ops: int) -> int:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{ops}/metrics", timeout=5).read().decode()
    except OSError:
        return 0
    return int(sum(float(m) for m in re.findall(r"^advisory_monitor_polls_total\{[^}]*\} (\S+)", text, re.M)))


if __name__ == "__main__":
    main()
