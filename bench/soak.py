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
from loopback import Peers, daemon_config, free_port

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


def rss_kb(pid: int) -> tuple[int, int]:
    """Resident kB of the daemon itself, and of its helper processes (forkserver, parse workers)."""
    own = helpers = 0
    for p in [pid, *descendants(pid)]:
        try:
            status = Path(f"/proc/{p}/status").read_text()
            kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        except (OSError, AttributeError):
            continue
        if p == pid:
            own = kb
        else:
            helpers += kb
    return own, helpers


def descendants(pid: int) -> list[int]:
    """Children, grandchildren...: forkserver workers are the forkserver's children, not the daemon's."""
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                kids = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) of the daemon, and of its helper processes."""
    own = helpers = 0.0
    for p in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            used = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError):
            continue
        if p == pid:
            own = used
        else:
            helpers += used
    return own, helpers


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
        config.write_text(daemon_config(f"sqlite:///{work}/monitor.db", ops, sources, peers.url("/hook")),
                          encoding="utf-8")
        log = (Path(work) / "log").open("w")
        proc = subprocess.Popen([str(EXE), "run", "--config", str(config)], stdout=subprocess.DEVNULL, stderr=log)
        duration = args.minutes * 60
        warm_at = min(60.0, duration / 3)
        started = time.time()
        rss_warm = cpu_warm = None
        polls_warm = 0
        samples: list[tuple[int, int]] = []
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
        code = proc.wait(timeout=20)
        log.close()
        errors = [line for line in (Path(work) / "log").read_text().splitlines() if " ERROR " in line]
    delivered = peers.delivered()
    peers.close()
    with growing.lock:
        published = dict(growing.published)
    due = {t: w for t, w in published.items() if w < cutoff}
    lost = [t for t in due if t not in delivered]
    latencies = sorted(delivered[t] - w for t, w in due.items() if t in delivered)
    p50 = statistics.median(latencies) if latencies else float("nan")
    p95 = latencies[int(len(latencies) * 0.95) - 1] if latencies else float("nan")
    n_polls = max(1, polls_end - polls_warm)
    warm_cpu = cpu_warm or (0.0, 0.0)
    cpu_own = (cpu_end[0] - warm_cpu[0]) / n_polls * 1000
    cpu_helpers = (cpu_end[1] - warm_cpu[1]) / n_polls * 1000
    warm_rss = rss_warm or (0, 0)
    after_warm = [own for own, _ in samples[len(samples) // 3:]] or [0]
    print(f"soak: {args.feeds} feeds every {args.every} for {args.minutes:g} min; {len(published)} items published, "
          f"{len(delivered)} delivered, {len(lost)} of {len(due)} due items lost; {n_polls} polls after warm-up "
          f"({n_polls / max(1.0, duration - warm_at):.1f}/s)\n"
          f"  RSS daemon: after warm-up {warm_rss[0] / 1024:.0f} MB, max after {max(after_warm) / 1024:.0f} MB, "
          f"at the end {rss_end[0] / 1024:.0f} MB; helper processes (forkserver + parse workers): "
          f"{warm_rss[1] / 1024:.0f} MB -> {rss_end[1] / 1024:.0f} MB\n"
          f"  CPU per poll: daemon {cpu_own:.1f} ms + parse workers {cpu_helpers:.1f} ms = "
          f"{cpu_own + cpu_helpers:.1f} ms\n"
          f"  latency publish->digest p50 {p50:.1f}s p95 {p95:.1f}s; exit code {code}; "
          f"{len(errors)} ERROR log lines" + (f" (first: {errors[0]})" if errors else ""))


def polls(ops: int) -> int:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{ops}/metrics", timeout=5).read().decode()
    except OSError:
        return 0
    return int(sum(float(m) for m in re.findall(r"^advisory_monitor_polls_total\{[^}]*\} (\S+)", text, re.M)))


if __name__ == "__main__":
    main()
