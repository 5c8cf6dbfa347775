"""Benchmark: render and email 1,000 digests of 20 items each to a local aiosmtpd.

Prints digests/s through ``render`` + ``deliver`` (one DeliverySession, so one reused SMTP
connection) beside bare aiosmtplib over one reused connection, measured in the same run: with a
2.5 KB message (the issue's reference) and with the very bytes our digests produce. The SMTP sink
runs in its own process so that it does not share our interpreter. Target: >= 250 digests/s.

    .venv/bin/python bench/deliver.py [--digests 1000] [--items 20]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import aiosmtplib

from monitor.config import AlertRule, EmailTarget, SmtpConfig
from monitor.deliver import DeliverySession, deliver
from monitor.deliver.message import message_bytes
from monitor.digest.render import render
from monitor.models import Classification, Digest, DigestEntry, Evidence, Item, RegionHit, ThreatHit

SENDER = "Advisory Monitor <monitor@localhost>"
TO = ["desk@example.org"]
PLACES = [("AZ", "Azerbaijan", "Baku"), ("AM", "Armenia", "Yerevan"), ("GE", "Georgia", "Tbilisi")]
THREATS = [("terrorism", "terrorist"), ("armed_conflict", "shelling"), ("kidnapping", "kidnapped")]
SEVERITIES = ["low", "medium", "high", "critical"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_digest(d: int, items: int) -> Digest:
    entries = []
    for i in range(items):
        code, country, city = PLACES[(d + i) % 3]
        threat, word = THREATS[(d * 7 + i) % 3]
        title = f"Reports of {word} activity near {city} ({d}-{i})"
        text = (f"Officials in {country} said on Tuesday that {word} incidents had been reported near {city}. "
                "Travellers are advised to monitor local media, avoid demonstrations and follow the instructions "
                "of local authorities. " * 4)
        full = title + "\n\n" + text
        body = len(title) + 2

        def ev(w: str, full: str = full, body: int = body) -> Evidence:
            at = full.index(w, body)
            return Evidence(text=w, start=at, end=at + len(w))

        item = Item(id=f"it-{d}-{i}", source="wire", url=f"https://news.example.org/{d}/{i}", title=title,
                    text=text, published=datetime(2024, 5, 1, tzinfo=UTC) + timedelta(minutes=i),
                    first_seen=datetime(2024, 5, 2, tzinfo=UTC), content_hash=f"{d}-{i}")
        cls = Classification(
            countries=[code], severity=SEVERITIES[(d + i) % 4],
            regions=[RegionHit(id=code, name=country, kind="country", country=code, role="primary", score=0.9,
                               evidence=[ev(country)]),
                     RegionHit(id=f"{city.lower()}-{code.lower()}", name=city, kind="city", country=code,
                               role="primary", score=0.5, evidence=[ev(city)])],
            threats=[ThreatHit(type=threat, score=0.8, evidence=[ev(word)])])
        entries.append(DigestEntry(item=item, classification=cls, matched_regions=[code], matched_threats=[threat],
                                   why=f"alert 'bench' matched {country} and {threat}"))
    return Digest(id=f"bench-{d:05d}", alert="bench", created_at=datetime(2024, 5, 2, 7, tzinfo=UTC),
                  timezone="Asia/Baku", entries=entries)


async def bare(port: int, messages: list[bytes]) -> float:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
    await client.connect()
    started = time.perf_counter()
    for data in messages:
        await client.sendmail("monitor@localhost", TO, data)
    elapsed = time.perf_counter() - started
    await client.quit()
    return len(messages) / elapsed


async def ours(port: int, digests: list[Digest], alert: AlertRule, concurrency: int) -> tuple[float, int]:
    target = EmailTarget(kind="email", to=TO)
    queue = list(reversed(digests))
    async with DeliverySession(SmtpConfig(host="127.0.0.1", port=port, sender=SENDER)) as session:
        async def worker() -> None:
            while queue:
                digest = queue.pop()
                await deliver(session, target, render(digest, alert))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        connects = session.smtp_connection().connects
    return len(digests) / elapsed, connects


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--digests", type=int, default=1000)
    parser.add_argument("--items", type=int, default=20)
    args = parser.parse_args()

    port = free_port()
    sink = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                             "-c", "aiosmtpd.handlers.Sink"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        alert = AlertRule(name="bench", deliver=[EmailTarget(kind="email", to=TO)])
        digests = [make_digest(d, args.items) for d in range(args.digests)]

        started = time.perf_counter()
        rendered = [render(d, alert) for d in digests]
        render_rate = len(digests) / (time.perf_counter() - started)
        ours_bytes = [message_bytes(r, sender=SENDER, to=TO) for r in rendered]
        size = sum(map(len, ours_bytes)) / len(ours_bytes)
        small = [message_bytes(r, sender=SENDER, to=TO)[:2500] for r in rendered]  # ~2.5 KB, the reference size

        bare_small = asyncio.run(bare(port, small))
        bare_ours = asyncio.run(bare(port, ours_bytes))
        sequential, c1 = asyncio.run(ours(port, digests, alert, 1))
        overlapped, c4 = asyncio.run(ours(port, digests, alert, 4))
    finally:
        sink.terminate()
        sink.wait(5)

    print(f"{args.digests} digests x {args.items} items, message {size / 1024:.1f} KB, sink aiosmtpd in a subprocess")
    print(f"  render only:                                  {render_rate:8.0f} digests/s")
    print(f"  bare aiosmtplib, one connection, 2.5 KB:      {bare_small:8.0f} msgs/s")
    print(f"  bare aiosmtplib, one connection, our bytes:   {bare_ours:8.0f} msgs/s")
    print(f"  render + deliver, sequential ({c1} connection): {sequential:8.0f} digests/s "
          f"({sequential / bare_ours:.2f}x bare, same bytes)")
    print(f"  render + deliver, 4 in flight ({c4} connection): {overlapped:8.0f} digests/s "
          f"({overlapped / bare_ours:.2f}x bare, same bytes)")
    target = 250
    print(f"target >= {target} digests/s: {'met' if max(sequential, overlapped) >= target else 'NOT met'}")


if __name__ == "__main__":
    main()
