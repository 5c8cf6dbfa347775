"""Shared fixtures: a real HTTP server on 127.0.0.1 that tests script route by route."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from monitor.classify.engine import Engine, load_engine
from monitor.store import Store
from tests.pg import PostgresServer, start_server, unavailable_reason

# aiosmtpd's server threads log each connection's end ("EOF received") at INFO, sometimes after the
# test that started them has finished and pytest has closed its capture stream; that late write is
# reported as an error of whichever test runs then. Its warnings and errors still show.
logging.getLogger("mail.log").setLevel(logging.WARNING)

Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class LoopbackServer:
    """A threaded HTTP server; ``routes`` maps a path to a function answering the request."""

    host: str
    port: int
    stop: threading.Event
    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def serve(self, path: str, body: bytes = b"", status: int = 200,
              headers: dict[str, str] | None = None) -> str:
        """Answer ``path`` with a fixed response; return its URL."""

        def handler(h: BaseHTTPRequestHandler) -> None:
            h.send_response(status)
            for name, value in (headers or {}).items():
                h.send_header(name, value)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)

        self.routes[path] = handler
        return self.url(path)

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    app: LoopbackServer

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up early (size caps, timeouts) are expected here


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        app = self.server.app
        app.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        route = app.routes.get(self.path.split("?", 1)[0])
        if route is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        route(self)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _start() -> tuple[_Server, LoopbackServer, threading.Thread]:
    server = _Server(("127.0.0.1", 0), _Handler)
    app = LoopbackServer("127.0.0.1", server.server_address[1], threading.Event())
    server.app = app
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, app, thread


def _running() -> Iterator[LoopbackServer]:
    server, app, thread = _start()
    try:
        yield app
    finally:
        app.stop.set()  # releases handlers that hang on purpose
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    yield from _running()


@pytest.fixture
def canary_server() -> Iterator[LoopbackServer]:
    """A second server that no test document may ever make us call."""
    yield from _running()


@pytest.fixture
def corpus_dir() -> Path:
    """The shared real-world corpus (../shared/corpus from the repository root), or a skip."""
    path = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
    if not path.is_dir():
        pytest.skip(f"corpus not found at {path} (it is not part of the repository)")
    return path


@pytest.fixture
def labelling_dir() -> Path:
    """The labelling guide and its development set (../shared/labelling from the repository root), or
    a skip. Read in place, never copied into the repository."""
    path = Path(__file__).resolve().parents[1].parent / "shared" / "labelling"
    if not (path / "dev.json").is_file():
        pytest.skip(f"labelled development set not found at {path} (it is not part of the repository)")
    return path


# ---------------------------------------------------------------------------------------------
# PostgreSQL: one throwaway server for the session (tests/pg.py), a fresh database per test.

@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    yield from start_server()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each kind the store supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/monitor.db"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.create_database()


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    """A fresh PostgreSQL database (what only PostgreSQL does: leases, advisory locks)."""
    return pg_server.create_database()


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A test that runs the CLI's main() points the root logger at that test's captured stderr; a
    later test that logs must not write to that closed stream, whatever order the tests run in."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """An open store on a fresh database of each kind."""
    s = Store.open(database_url)
    yield s
    s.close()


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The shipped rules' engine, once per session, built into a private cache."""
    return load_engine(cache_dir=tmp_path_factory.mktemp("rules-cache"))
