"""Benchmark of the feed source (issue 2): parse + extract speed, and polling 1,000 feeds that answer 304.

Run: ``.venv/bin/python bench/ingest.py``. Prints figures with the bare baselines measured in
the same run; asserts nothing. Store figures belong to the store's own benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing
import random
import time
from collections.abc import Callable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = ("travel advisory border crossing protest police curfew embassy airport flight earthquake "
         "flood region capital province ministry security warning citizens demonstration road").split()


def html_description(rng: random.Random) -> str:
    paras = []
    for _ in range(rng.randint(3, 6)):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(25, 60)))
        paras.append(f"<p>{words.capitalize()} <a href='/news/{rng.randint(1, 9999)}'>more</a> "
                     f"<b>{rng.choice(WORDS)}</b>.</p>")
    paras.append("<p>Read also</p><ul><li><a href='/x'>Other story</a></li></ul>")
    return "".join(paras)


def make_feed(count: int = 1000, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    items = []
    for i in range(count):
        items.append(
            f"<item><title>Advisory {i}: {rng.choice(WORDS)} {rng.choice(WORDS)}</title>"
            f"<link>https://example.org/news/{i}</link><guid isPermaLink='false'>item-{i}</guid>"
            f"<pubDate>Tue, 16 Feb 2021 10:{i % 60:02d}:00 GMT</pubDate>"
            f"<category domain='Threat-Level'>Level {i % 4 + 1}</category>"
            f"<description><![CDATA[{html_description(rng)}]]></description></item>"
        )
    return ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Bench</title>"
            "<link>https://example.org/</link>" + "".join(items) + "</channel></rss>").encode()


def best_of(runs: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def bench_parse(count: int, runs: int) -> None:
    import feedparser
    from lxml import etree

    from monitor.sources.extract import extract, load_boilerplate
    from monitor.sources.feeds import parse_feed

    data = make_feed(count)
    boilerplate = load_boilerplate()
    print(f"feed: {count} entries, {len(data) / 1024:.0f} KiB, best of {runs} runs, one core")

    def lxml_bare() -> None:
        root = etree.fromstring(data)
        for it in root.iter("item"):
            it.findtext("title"), it.findtext("description")

    entries = parse_feed("bench", data)[0]
    figures = {
        "lxml (bare, reference)": best_of(runs, lxml_bare),
        "feedparser, sanitizer on (default)": best_of(runs, lambda: feedparser.parse(io.BytesIO(data))),
        "feedparser, sanitizer off": best_of(runs, lambda: feedparser.parse(
            io.BytesIO(data), sanitize_html=False, resolve_relative_uris=False)),
        "parse_feed (screen + feedparser + RawEntry)": best_of(runs, lambda: parse_feed("bench", data)),
        "extract only (HTML -> clean text)": best_of(runs, lambda: [
            extract(e.body, is_html=e.body_is_html, boilerplate=boilerplate) for e in entries]),
    }

    def parse_and_extract() -> None:
        for e in parse_feed("bench", data)[0]:
            extract(e.body, is_html=e.body_is_html, boilerplate=boilerplate)

    figures["parse_feed + extract"] = best_of(runs, parse_and_extract)
    base_on = figures["feedparser, sanitizer on (default)"]
    base_off = figures["feedparser, sanitizer off"]
    for name, seconds in figures.items():
        print(f"  {name:<46} {count / seconds:>9,.0f} entries/s  ({seconds * 1000:7.1f} ms)")
    ours = figures["parse_feed + extract"]
    print(f"  parse_feed + extract vs bare feedparser: {base_on / ours:.2f}x sanitizer-on, "
          f"{base_off / ours:.2f}x sanitizer-off (target >= 1,500 entries/s incl. store)")
    split = figures["parse_feed (screen + feedparser + RawEntry)"]
    print(f"  split: parse {split / ours:.0%}, extract {figures['extract only (HTML -> clean text)'] / ours:.0%}")


class _NotModified(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(304)
        self.send_header("ETag", '"v1"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def _serve(port_queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    server = _Server(("127.0.0.1", 0), _NotModified)
    port_queue.put(server.server_address[1])
    server.serve_forever()


def bench_poll(feeds: int, concurrency: int) -> None:
    from monitor.config import FeedSource
    from monitor.sources.feeds import fetch_feed, make_client

    # The server runs in its own process so that it does not share the client's interpreter lock.
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    server = multiprocessing.Process(target=_serve, args=(queue,), daemon=True)
    server.start()
    port = queue.get(timeout=10)
    sources = [FeedSource(kind="feed", name=f"f{i}", url=f"http://127.0.0.1:{port}/feed/{i}.xml",
                          timeout=timedelta(seconds=30)) for i in range(feeds)]

    async def run() -> tuple[float, int]:
        semaphore = asyncio.Semaphore(concurrency)
        async with make_client(max_connections=concurrency) as client:
            async def one(src: FeedSource) -> bool:
                async with semaphore:
                    result = await fetch_feed(src, client, etag='"v1"', last_modified=None)
                    return result.not_modified

            started = time.perf_counter()
            done = await asyncio.gather(*(one(s) for s in sources))
            return time.perf_counter() - started, sum(done)

    try:
        seconds, not_modified = asyncio.run(run())
    finally:
        server.terminate()
        server.join()
    print(f"poll: {feeds} feeds answering 304, concurrency {concurrency}: {seconds:.2f} s "
          f"({feeds / seconds:,.0f} feeds/s, {not_modified} not modified; target <= 10 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    bench_parse(args.entries, args.runs)
    bench_poll(args.feeds, args.concurrency)


if __name__ == "__main__":
    main()
