"""A webhook receiver on loopback that answers by path: 404 to a path with /wrong/ in it (a URL
someone mistyped) or in ``refused``, 200 to any other; it records each request's path and key."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.ports import free_port


@dataclass
class Hooks:
    port: int
    refused: set[str] = field(default_factory=set)
    received: list[tuple[str, str]] = field(default_factory=list)  # (path, Idempotency-Key)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def paths(self) -> list[str]:
        return [path for path, _ in self.received]


@contextmanager
def serve_hooks() -> Iterator[Hooks]:
    app = Hooks(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            app.received.append((self.path, self.headers.get("Idempotency-Key", "")))
            self.send_response(404 if "/wrong/" in self.path or self.path in app.refused else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", app.port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
