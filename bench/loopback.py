"""Loopback peers for the daemon benchmarks: a feed server whose feeds can grow, a webhook receiver."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def daemon_config(database: str, ops_port: int, sources: str, hook_url: str) -> str:
    """A daemon's config for the benchmarks: ``sources`` (YAML list lines), every unrest item sent at once
    to one loopback webhook."""
    return f"""
database: {database}
server: {{host: 127.0.0.1, port: {ops_port}}}
sources:
{sources}
alerts:
  - name: all
    match: {{threats: [civil_unrest], min_severity: none}}
    schedule: immediate
    max_items: 1000
    deliver:
      - {{kind: webhook, url: "{hook_url}"}}
"""


def rss(items: list[tuple[str, str, str]], extra: str = "") -> bytes:
    body = "".join(f"<item><title>{t}</title><guid>{g}</guid><description>{d}</description>{extra}</item>"
                   for t, g, d in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>{body}</channel></rss>'.encode()


class Peers:
    """Serves ``feeds[path]`` (bytes, or a callable giving bytes) and records webhook POSTs with arrival times."""

    def __init__(self) -> None:
        self.feeds: dict[str, bytes | Callable[[], bytes]] = {}
        self.hooks: list[tuple[float, dict]] = []
        self.lock = threading.Lock()
        peers = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = peers.feeds.get(self.path)
                data = body() if callable(body) else body
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

            def do_POST(self) -> None:
                payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with peers.lock:
                    peers.hooks.append((time.time(), payload))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def delivered(self) -> dict[str, float]:
        """title -> first arrival time."""
        seen: dict[str, float] = {}
        with self.lock:
            for when, payload in self.hooks:
                for item in payload.get("items", []):
                    seen.setdefault(item["title"], when)
        return seen

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
