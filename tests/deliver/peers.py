"""Real peers on loopback for the delivery tests: aiosmtpd (plain, STARTTLS, implicit TLS, AUTH)
and a threaded HTTP receiver that answers 200, 500, 429, 408, 404, hangs or drops the connection."""

from __future__ import annotations

import contextlib
import gc
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from monitor.config import AlertRule, FileTarget
from monitor.digest.render import render
from monitor.models import Classification, Digest, DigestEntry, Evidence, Item, RegionHit, RenderedDigest, ThreatHit
from tests.ports import free_port

USER, PASSWORD = "desk", "s3cret-pa55"


def make_rendered(digest_id: str = "dg-test-0001", n: int = 2) -> RenderedDigest:
    entries = []
    for i in range(n):
        title = f"Bomb threat at Baku hotel {i}"
        text = "Police in Baku, Azerbaijan evacuated a hotel after a terrorist bomb threat on Friday."
        full = title + "\n\n" + text
        at = full.index("terrorist")
        item = Item(id=f"it-{i}", source="wire", url=f"https://news.example.org/{i}", title=title, text=text,
                    published=datetime(2024, 5, 1, 12, i, tzinfo=UTC), first_seen=datetime(2024, 5, 1, 13, tzinfo=UTC),
                    content_hash=f"h{i}")
        cls = Classification(countries=["AZ"], severity="high",
                             regions=[RegionHit(id="AZ", name="Azerbaijan", kind="country", country="AZ",
                                                role="primary", score=1)],
                             threats=[ThreatHit(type="terrorism", score=1,
                                                evidence=[Evidence(text="terrorist", start=at, end=at + 9)])])
        entries.append(DigestEntry(item=item, classification=cls, matched_regions=["AZ"],
                                   matched_threats=["terrorism"], why="alert 'test' matched Azerbaijan, terrorism"))
    digest = Digest(id=digest_id, alert="test", created_at=datetime(2024, 5, 1, 14, tzinfo=UTC), entries=entries)
    return render(digest, AlertRule(name="test", deliver=[FileTarget(kind="file", path=Path("/tmp/unused"))]))


@pytest.fixture
def rendered() -> RenderedDigest:
    return make_rendered()


# ---------------------------------------------------------------------------------------------
# SMTP

@dataclass
class Sink:
    """aiosmtpd handler: keeps every message; refuses recipients by their local part."""

    messages: list[Any] = field(default_factory=list)
    data_reply: str = "250 OK"
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("refuse5"):
            return "550 5.1.1 no such user"
        if address.startswith("refuse4"):
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply.startswith("250"):
            self.messages.append(envelope)
        return self.data_reply

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            self.logins.append((data.login.decode(), data.password.decode()))
            if (data.login.decode(), data.password.decode()) == (USER, PASSWORD):
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@dataclass
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A throwaway self-signed certificate for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True)
    return Certificate(cert, key)


@dataclass
class SmtpServer:
    sink: Sink
    port: int
    controller: Controller
    start_kwargs: dict[str, Any]

    def stop(self) -> None:
        self.controller.stop()

    def restart(self) -> None:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port, **self.start_kwargs)
        self.controller.start()


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., SmtpServer]]:
    """Start an aiosmtpd server on 127.0.0.1: ``smtp_server(tls_context=..., auth=True, ...)``."""
    started: list[SmtpServer] = []

    def start(*, auth: bool = False, **kwargs: Any) -> SmtpServer:
        sink = Sink()
        if auth:
            kwargs.update(authenticator=sink.authenticate, auth_required=True)
        port = free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        server = SmtpServer(sink, port, controller, kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        with contextlib.suppress(AssertionError, RuntimeError):  # already stopped by the test
            server.stop()


# ---------------------------------------------------------------------------------------------
# HTTP

@dataclass
class Receiver:
    url: str
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    receiver: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.receiver.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        mode = self.path.rsplit("/", 1)[-1]
        if mode == "hang":
            self.receiver.release.wait(10)
            return
        if mode == "close":
            self.close_connection = True  # no response at all: the client sees the connection drop
            return
        status = {"ok": 200, "accepted": 202, "fail": 500, "busy": 429, "slow": 408, "gone": 404,
                  "moved": 301}.get(mode, 200)
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "30")
        if status == 301:
            self.send_header("Location", "http://127.0.0.1:1/elsewhere")
        reply = b"ok" if status < 300 else f"status {status}".encode()
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    port = free_port()
    rec = Receiver(f"http://127.0.0.1:{port}")
    handler = type("Handler", (_Handler,), {"receiver": rec})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield rec
    rec.release.set()
    server.shutdown()
    server.server_close()
    time.sleep(0)


@pytest.fixture(autouse=True)
def _collect_garbage() -> Iterator[None]:
    # Leaked sockets and transports warn when collected; collect here so the test that leaked fails,
    # not whichever test the garbage collector happens to run in.
    yield
    gc.collect()
