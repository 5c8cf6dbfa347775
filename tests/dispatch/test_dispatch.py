"""The outbox end to end: real SQLite, a real SMTP server and HTTP receiver on loopback, a clock we move.

Items and classifications are written to the store directly (as the classify stage would), so
these tests are about matching, schedules, claims and deliveries alone.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from monitor.config import Config, parse_config
from monitor.dispatch.dispatcher import DigestOutcome, Dispatcher
from monitor.models import Classification, Item, RegionHit, Severity, ThreatHit
from monitor.store import Outbox, PollWrite, Store, StoredEntry
from tests.ports import free_port
from tests.seeds_config import SEEDS, seeds_config

START = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)  # a Monday


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


# ---------------------------------------------------------------------------------------------
# Loopback peers

@dataclass
class Mailbox:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@dataclass
class GreylistingMailbox(Mailbox):
    """Answers 451 to a greylisted recipient's first RCPT, as many mail servers do to new senders."""

    greylisted: set[str] = field(default_factory=set)
    rcpts: list[list[str]] = field(default_factory=list)  # the accepted recipients of each message

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.greylisted:
            self.greylisted.discard(address)
            return "451 4.7.1 greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.rcpts.append(list(envelope.rcpt_tos))
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(free_port())
    box.start()
    yield box
    box.stop()


@dataclass
class Receiver:
    """An HTTP receiver whose next answers are scripted: 200, 500, 429, 400, 'hang' or 'close'."""

    port: int
    answers: list[str | int] = field(default_factory=list)
    default: str | int = 200
    received: list[tuple[dict[str, str], bytes, str | int]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def delivered(self) -> list[dict[str, Any]]:
        """The payloads answered with a 2xx."""
        return [json.loads(body) for _, body, answer in self.received if isinstance(answer, int) and answer < 300]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    app = Receiver(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            answer = app.answers.pop(0) if app.answers else app.default
            app.received.append(({k.lower(): v for k, v in self.headers.items()}, body, answer))
            if answer == "hang":
                app.release.wait(10)
                return
            if answer == "close":
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            assert isinstance(answer, int)
            self.send_response(answer)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        block_on_close = False

        def handle_error(self, request: object, client_address: object) -> None:
            pass

    server = Server(("127.0.0.1", app.port), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield app
    app.release.set()
    server.shutdown()
    server.server_close()


# ---------------------------------------------------------------------------------------------
# Store helpers

def make_config(tmp_path: Path, alert: str, smtp_port: int = 1) -> Config:
    text = f"""
database: sqlite:///{tmp_path}/monitor.db
sources: [{{name: news, kind: files, path: {tmp_path}/articles}}]
smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none, timeout: 5s, sender: "Monitor <m@localhost>"}}
alerts:
{alert}
"""
    return parse_config(text, str(tmp_path / "config.yaml"), base=tmp_path)


BAKU = ["baku-az", "AZ", "western-asia", "asia"]


def add_item(store: Store, item_id: str, clock: Clock, *, title: str | None = None, regions: list[str] = BAKU,
             threats: tuple[str, ...] = ("terrorism",), severity: Severity = Severity.high,
             published: datetime | None = None) -> None:
    item = Item(id=item_id, source="news", title=title or f"Attack {item_id} in Baku",
                text=f"A bomb exploded in Baku ({item_id}).", published=published, first_seen=clock(),
                content_hash=item_id)
    store.write_poll(PollWrite(state=store.source_state("news"), new=[StoredEntry(item, None, False)]))
    cls = Classification(item_id=item_id, title=item.title, source="news", countries=["AZ"], severity=severity,
                         threats=[ThreatHit(type=t, score=1.0) for t in threats],
                         regions=[RegionHit(id="baku-az", name="Baku", kind="city", country="AZ", role="primary")],
                         rules_version="test")
    store.save_classifications([(cls, regions)])


def run(config: Config, store: Store, clock: Clock, force: bool = False) -> list[DigestOutcome]:
    return asyncio.run(Dispatcher(config, store, clock=clock).run(force=force))


ALL_TARGETS = """  - name: caucasus
    match: {{regions: [AZ, AM], threats: [terrorism, kidnapping]}}
    max_age: null
    deliver:
      - {{kind: email, to: [desk@example.org]}}
      - {{kind: webhook, url: "{url}", secret: s3cret, timeout: 2s}}
      - {{kind: file, path: {out}}}
"""


# ---------------------------------------------------------------------------------------------

def test_each_item_reaches_each_target_once(tmp_path: Path, store: Store, mailbox: Mailbox,
                                            receiver: Receiver) -> None:
    clock = Clock()
    config = make_config(tmp_path, ALL_TARGETS.format(url=receiver.url, out=tmp_path / "out"), mailbox.port)
    add_item(store, "a", clock)
    add_item(store, "b", clock)
    add_item(store, "elsewhere", clock, regions=["paris-fr", "FR", "western-europe", "europe"])
    outcomes = run(config, store, clock, force=True)
    assert len(outcomes) == 1 and not outcomes[0].failed
    digest_id = outcomes[0].digest_id
    assert str(outcomes[0]).startswith(f"caucasus: digest {digest_id} with 2 items -> file ok (")
    assert str(outcomes[0]).endswith("email ok, webhook ok")
    assert len(mailbox.messages) == 1 and mailbox.messages[0]["Message-ID"] == f"<{digest_id}@advisory-monitor>"
    assert [[i["id"] for i in p["items"]] for p in receiver.delivered()] == [["a", "b"]]
    assert receiver.received[0][0]["idempotency-key"] == digest_id
    assert sorted(p.name for p in (tmp_path / "out" / digest_id).iterdir()) == ["digest.html", "digest.json",
                                                                                "message.eml"]
    # Nothing new: nothing sent, however often we run.
    for _ in range(2):
        clock.advance(timedelta(hours=2))
        assert run(config, store, clock, force=True) == []
    add_item(store, "c", clock)
    outcomes = run(config, store, clock, force=True)
    assert [o.items for o in outcomes] == [1]
    assert len(mailbox.messages) == 2 and "(c)" in mailbox.messages[1].get_body(("plain",)).get_content()
    assert [[i["id"] for i in p["items"]] for p in receiver.delivered()] == [["a", "b"], ["c"]]
    assert len(list((tmp_path / "out").iterdir())) == 2


def test_smtp_down_then_back_is_delivered_once_with_the_same_digest(tmp_path: Path, store: Store,
                                                                    receiver: Receiver) -> None:
    clock = Clock()
    box = Mailbox(free_port())  # not started: connection refused
    config = make_config(tmp_path, ALL_TARGETS.format(url=receiver.url, out=tmp_path / "out"), box.port)
    add_item(store, "a", clock)
    [outcome] = run(config, store, clock)
    assert outcome.failed
    line = str(outcome)
    assert "file ok" in line and "webhook ok" in line and "email FAILED (retrying in " in line
    digest_id = outcome.digest_id
    # Not due yet: the backoff holds it (a daemon pass, not `once`).
    clock.advance(timedelta(seconds=10))
    assert run(config, store, clock) == []
    box.start()
    try:
        clock.advance(timedelta(minutes=5))
        [again] = run(config, store, clock)
        assert again.retry and again.digest_id == digest_id and not again.failed
        assert [str(r) for r in again.results] == ["email ok"]
        assert [m["Message-ID"] for m in box.messages] == [f"<{digest_id}@advisory-monitor>"]
        assert len(receiver.delivered()) == 1
        clock.advance(timedelta(hours=1))
        assert run(config, store, clock, force=True) == []
        assert len(box.messages) == 1
    finally:
        box.stop()


def test_a_recipient_refused_for_now_gets_the_digest_later_and_the_others_once(tmp_path: Path,
                                                                                 store: Store) -> None:
    clock = Clock()
    box = GreylistingMailbox(free_port(), greylisted={"night@example.org"})
    box.start()
    try:
        config = make_config(tmp_path, """  - name: caucasus
    match: {regions: [AZ]}
    max_age: null
    deliver:
      - {kind: email, to: [desk@example.org, night@example.org, nobody@example.org]}
""", box.port)
        add_item(store, "a", clock)
        [outcome] = run(config, store, clock, force=True)
        assert not outcome.failed
        assert "retrying night@example.org in" in str(outcome)
        assert box.rcpts == [["desk@example.org", "nobody@example.org"]]
        [record] = Outbox(store).list_digests()
        follow_up = [d for d in record.deliveries if d.recipients]
        assert [(d.recipients, d.status) for d in follow_up] == [(["night@example.org"], "pending")]
        clock.advance(timedelta(seconds=10))
        assert run(config, store, clock) == []  # its backoff holds it
        clock.advance(timedelta(minutes=5))
        [again] = run(config, store, clock)
        assert again.retry and again.digest_id == outcome.digest_id and not again.failed
        assert box.rcpts == [["desk@example.org", "nobody@example.org"], ["night@example.org"]]
        assert [m["Message-ID"] for m in box.messages] == [f"<{outcome.digest_id}@advisory-monitor>"] * 2
        clock.advance(timedelta(hours=2))
        assert run(config, store, clock, force=True) == []
        assert len(box.messages) == 2
        assert all(d.status == "sent" for d in Outbox(store).list_digests()[0].deliveries)
    finally:
        box.stop()


@pytest.mark.parametrize("answers", [[500, 200], [429, 200], ["close", 200]])
def test_webhook_retryable_answers_then_success(tmp_path: Path, store: Store, receiver: Receiver,
                                                answers: list[str | int]) -> None:
    clock = Clock()
    receiver.answers = list(answers)
    config = make_config(tmp_path, f"""  - name: a
    match: {{regions: [AZ]}}
    deliver: [{{kind: webhook, url: "{receiver.url}", timeout: 2s}}]
""")
    add_item(store, "a", clock)
    [first] = run(config, store, clock)
    assert first.failed and first.results[0].retry_in is not None
    # The first retry waits a minute, +-20% jitter.
    assert timedelta(seconds=48) <= first.results[0].retry_in <= timedelta(seconds=72)
    [second] = run(config, store, clock, force=True)  # `once` retries without waiting for the backoff
    assert not second.failed and second.digest_id == first.digest_id
    keys = [h["idempotency-key"] for h, _, _ in receiver.received]
    assert keys == [first.digest_id, first.digest_id]
    assert len(receiver.delivered()) == 1


def test_permanent_failure_gives_up_until_retried_by_hand(tmp_path: Path, store: Store, receiver: Receiver) -> None:
    clock = Clock()
    receiver.answers = [400]
    config = make_config(tmp_path, f"""  - name: a
    match: {{regions: [AZ]}}
    deliver: [{{kind: webhook, url: "{receiver.url}", timeout: 2s}}]
""")
    add_item(store, "a", clock)
    [first] = run(config, store, clock)
    assert "webhook FAILED (gave up)" in str(first)
    assert run(config, store, clock, force=True) == []
    [record] = Outbox(store).list_digests()
    assert [(d.status, d.attempts) for d in record.deliveries] == [("failed", 1)]
    dispatcher = Dispatcher(config, store, clock=clock)
    assert dispatcher.retry(first.digest_id[:12]) is not None
    [again] = asyncio.run(dispatcher.deliver_due())
    assert not again.failed and len(receiver.delivered()) == 1


def test_a_hanging_target_does_not_hold_up_the_others(tmp_path: Path, store: Store, mailbox: Mailbox,
                                                      receiver: Receiver) -> None:
    clock = Clock()
    receiver.default = "hang"
    config = make_config(tmp_path, f"""  - name: a
    match: {{regions: [AZ]}}
    deliver:
      - {{kind: webhook, url: "{receiver.url}", timeout: 1s}}
      - {{kind: email, to: [desk@example.org]}}
""", mailbox.port)
    add_item(store, "a", clock)
    started = time.monotonic()
    [outcome] = run(config, store, clock)
    assert time.monotonic() - started < 5
    assert [r.ok for r in outcome.results] == [True, False]  # email, webhook
    assert "timed out" in (outcome.results[1].error or "")
    assert len(mailbox.messages) == 1


def test_a_send_cut_off_in_flight_is_logged_as_abandoned_and_stays_pending(
        tmp_path: Path, store: Store, receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    receiver.default = "hang"
    config = make_config(tmp_path, f"""  - name: a
    match: {{regions: [AZ]}}
    deliver: [{{kind: webhook, url: "{receiver.url}?token=s3cr3t", timeout: 60s}}]
""")
    add_item(store, "a", clock)

    async def stop_while_sending() -> None:
        task = asyncio.ensure_future(Dispatcher(config, store, clock=clock).run())
        for _ in range(600):  # the send reaches the receiver, which never answers
            if receiver.received:
                break
            await asyncio.sleep(0.05)
        task.cancel()  # what the daemon does once its grace period is over
        with pytest.raises(asyncio.CancelledError):
            await task

    with caplog.at_level("WARNING", logger="monitor.deliver.lanes"):
        asyncio.run(stop_while_sending())
    [record] = Outbox(store).list_digests()
    assert [(d.status, d.attempts) for d in record.deliveries] == [("pending", 0)]  # nothing recorded
    [line] = [r.getMessage() for r in caplog.records if "abandoned" in r.getMessage()]
    assert f"digest {record.id} of a to webhook 127.0.0.1:{receiver.port}" in line and "s3cr3t" not in line
    receiver.default = 200
    receiver.release.set()
    [again] = run(config, store, clock)  # the next run: the same digest, sent once
    assert not again.failed and again.digest_id == record.id
    assert [h["idempotency-key"] for h, _, _ in receiver.received] == [record.id, record.id]
    assert len(receiver.delivered()) == 1


def test_quiet_hours_defer_but_urgent_items_go_at_once(tmp_path: Path, store: Store, receiver: Receiver) -> None:
    clock = Clock(datetime(2024, 3, 4, 19, 30, tzinfo=UTC))  # 23:30 in Baku (UTC+4)
    config = make_config(tmp_path, f"""  - name: a
    match: {{regions: [AZ]}}
    schedule: immediate
    quiet_hours: {{start: "22:00", end: "07:00", timezone: Asia/Baku}}
    urgent_severity: critical
    deliver: [{{kind: webhook, url: "{receiver.url}", timeout: 2s}}]
""")
    add_item(store, "routine", clock, severity=Severity.medium)
    [held] = run(config, store, clock, force=True)  # even `once` keeps the quiet hours
    assert str(held) == "a: 1 item held for quiet hours until 2024-03-05 07:00 Asia/Baku"
    assert receiver.received == []
    clock.advance(timedelta(hours=2))
    add_item(store, "urgent", clock, severity=Severity.critical)
    [urgent] = run(config, store, clock)
    assert urgent.items == 1 and "1 item held for quiet hours" in str(urgent)
    assert [[i["id"] for i in p["items"]] for p in receiver.delivered()] == [["urgent"]]
    clock.now = datetime(2024, 3, 5, 3, 0, tzinfo=UTC)  # 07:00 in Baku: the quiet hours are over
    [after] = run(config, store, clock)
    assert after.items == 1
    assert [[i["id"] for i in p["items"]] for p in receiver.delivered()] == [["urgent"], ["routine"]]


def test_max_items_carries_the_rest_to_the_next_digest(tmp_path: Path, store: Store, receiver: Receiver) -> None:
    clock = Clock()
    config = make_config(tmp_path, f"""  - name: a
    match: {{regions: [AZ]}}
    max_items: 2
    deliver: [{{kind: webhook, url: "{receiver.url}", timeout: 2s}}]
""")
    for n in range(5):
        add_item(store, f"i{n}", clock)
        clock.advance(timedelta(seconds=1))
    [first] = run(config, store, clock)
    assert "2 items" in str(first) and "3 more carried to the next digest" in str(first)
    assert run(config, store, clock) == []  # every 1h: the carried items wait for the next digest
    clock.advance(timedelta(hours=1))
    run(config, store, clock)
    run(config, store, clock, force=True)
    got = [sorted(i["id"] for i in p["items"]) for p in receiver.delivered()]
    assert got == [["i0", "i1"], ["i2", "i3"], ["i4"]]


def test_max_age_ignores_old_items_and_undated_ones_count_from_first_seen(tmp_path: Path, store: Store,
                                                                          receiver: Receiver) -> None:
    clock = Clock()
    config = make_config(tmp_path, f"""  - name: a
    match: {{regions: [AZ]}}
    max_age: 2d
    deliver: [{{kind: webhook, url: "{receiver.url}", timeout: 2s}}]
""")
    add_item(store, "archive", clock, published=START - timedelta(days=30))
    add_item(store, "fresh", clock, published=START - timedelta(hours=3))
    add_item(store, "undated", clock)
    run(config, store, clock, force=True)
    assert [sorted(i["id"] for i in p["items"]) for p in receiver.delivered()] == [["fresh", "undated"]]
    clock.advance(timedelta(days=3))
    add_item(store, "late-undated", clock)
    run(config, store, clock, force=True)
    assert [i["id"] for i in receiver.delivered()[-1]["items"]] == ["late-undated"]


def test_every_and_cron_schedules(tmp_path: Path, store: Store, receiver: Receiver) -> None:
    clock = Clock()  # Monday 09:00 UTC = 13:00 in Baku
    config = make_config(tmp_path, f"""  - name: hourly
    match: {{regions: [AZ]}}
    schedule: {{every: 1h}}
    deliver: [{{kind: webhook, url: "{receiver.url}", timeout: 2s}}]
  - name: morning
    match: {{regions: [AZ]}}
    schedule: {{cron: "0 7 * * 1-5", timezone: Asia/Baku}}
    deliver: [{{kind: webhook, url: "{receiver.url}", timeout: 2s}}]
""")
    add_item(store, "a", clock)
    assert [o.alert for o in run(config, store, clock)] == ["hourly"]
    clock.advance(timedelta(minutes=30))
    add_item(store, "b", clock)
    assert run(config, store, clock) == []
    clock.advance(timedelta(minutes=30))
    assert [o.alert for o in run(config, store, clock)] == ["hourly"]
    clock.now = datetime(2024, 3, 5, 2, 59, tzinfo=UTC)  # Tuesday 06:59 in Baku
    assert run(config, store, clock) == []
    clock.now = datetime(2024, 3, 5, 3, 0, tzinfo=UTC)  # 07:00
    [morning] = run(config, store, clock)
    assert morning.alert == "morning" and morning.items == 2


# ---------------------------------------------------------------------------------------------
# The real command in a real process: ingest, classify, match, deliver.

def once_config(tmp_path: Path, targets: str) -> Path:
    return seeds_config(tmp_path, targets)


def once(config: Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "once", "--config", str(config)],
                          capture_output=True, text=True, timeout=120, check=False, **kwargs)


def test_once_sends_each_item_once_and_skips_near_duplicates(tmp_path: Path) -> None:
    out = tmp_path / "out"
    config = once_config(tmp_path, f"      - {{kind: file, path: {out}}}")
    first = once(config)
    assert first.returncode == 0, first.stderr
    [folder] = list(out.iterdir())
    assert f"caucasus: digest {folder.name} with 2 items -> file ok" in first.stdout
    assert once(config).returncode == 0
    seed = next(SEEDS.glob("000_*.txt")).read_text(encoding="utf-8")
    (tmp_path / "articles" / "syndicated.txt").write_text(
        seed.replace("Most Popular", "Trending now"), encoding="utf-8")
    third = once(config)
    assert third.returncode == 0 and "digest" not in third.stdout
    assert [p.name for p in out.iterdir()] == [folder.name]


def test_crash_between_claim_and_send_resends_the_same_digest(tmp_path: Path, receiver: Receiver) -> None:
    out = tmp_path / "out"
    config = once_config(tmp_path, f"""      - {{kind: webhook, url: "{receiver.url}", timeout: 60s}}
      - {{kind: file, path: {out}}}""")
    receiver.default = "hang"  # the first attempt reaches the receiver, which never answers
    process = subprocess.Popen([sys.executable, "-m", "monitor", "once", "--config", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not receiver.received and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert receiver.received, "the webhook was never called"
    finally:
        process.kill()  # SIGKILL: no cleanup, no chance to record anything
        process.wait()
    store = Store.open(f"sqlite:///{tmp_path}/monitor.db")
    try:
        [claimed] = Outbox(store).list_digests()
        webhook = next(d for d in claimed.deliveries if d.kind == "webhook")
        assert (webhook.status, webhook.attempts) == ("pending", 0)
    finally:
        store.close()
    receiver.default = 200
    receiver.release.set()
    again = once(config)
    assert again.returncode == 0, again.stderr
    assert f"retried digest {claimed.id} with 2 items" in again.stdout
    assert [h["idempotency-key"] for h, _, _ in receiver.received] == [claimed.id, claimed.id]
    assert len(receiver.delivered()) == 1
    assert [p.name for p in out.iterdir()] == [claimed.id]
    assert once(config).returncode == 0
    assert len(receiver.received) == 2


# ---------------------------------------------------------------------------------------------
# One dispatcher kept between passes (the daemon's): it reads only what was classified since its
# last pass, and a new one (a restart) still finds everything waiting in the outbox's terms.

def test_a_kept_dispatcher_takes_new_items_and_a_new_one_finds_what_waits(tmp_path: Path, store: Store,
                                                                            receiver: Receiver) -> None:
    clock = Clock()
    config = make_config(tmp_path, f"""  - name: a
    match: {{regions: [AZ], threats: [terrorism]}}
    schedule: {{every: 1h}}
    deliver: [{{kind: webhook, url: "{receiver.url}", timeout: 2s}}]
""")
    kept = Dispatcher(config, store, clock=clock)
    add_item(store, "first", clock)
    asyncio.run(kept.run())
    add_item(store, "second", clock)
    add_item(store, "third", clock)
    clock.advance(timedelta(minutes=10))
    assert asyncio.run(kept.run()) == []  # not due yet: both wait
    assert sorted(m.item_id for m in kept.waiting(clock())["a"]) == ["second", "third"]
    # "third" is classified again (a new version) and no longer matches: it leaves the waiting set.
    _reclassify(store, "third", ("crime",))
    clock.advance(timedelta(hours=1))
    asyncio.run(kept.run())
    assert [[i["id"] for i in p["items"]] for p in receiver.delivered()] == [["first"], ["second"]]
    # A crash loses the kept dispatcher; a new one looks at the whole window and sends what waits.
    add_item(store, "fourth", clock)
    assert asyncio.run(kept.run()) == []
    clock.advance(timedelta(hours=1))
    assert [o.items for o in run(config, store, clock)] == [1]
    assert asyncio.run(kept.run()) == []  # the kept one learns of the claim from the outbox
    assert [[i["id"] for i in p["items"]] for p in receiver.delivered()] == [["first"], ["second"], ["fourth"]]
    assert store.classification_mark() == 5


def _reclassify(store: Store, item_id: str, threats: tuple[str, ...]) -> None:
    cls = Classification(item_id=item_id, title=item_id, source="news", countries=["AZ"], severity=Severity.high,
                         threats=[ThreatHit(type=t, score=1.0) for t in threats],
                         regions=[RegionHit(id="baku-az", name="Baku", kind="city", country="AZ", role="primary")],
                         rules_version="test")
    store.save_classifications([(cls, BAKU)])


def test_a_kept_dispatcher_drops_matches_older_than_max_age(tmp_path: Path, store: Store,
                                                            receiver: Receiver) -> None:
    # Matching only (no pass sends): what waits is kept, and leaves when it ages past max_age.
    clock = Clock()
    config = make_config(tmp_path, f"""  - name: a
    match: {{regions: [AZ]}}
    max_age: 1d
    deliver: [{{kind: webhook, url: "{receiver.url}", timeout: 2s}}]
""")
    kept = Dispatcher(config, store, clock=clock)
    add_item(store, "old", clock, published=START - timedelta(hours=20))
    assert [m.item_id for m in kept.waiting(clock())["a"]] == ["old"]  # the first pass: the whole window
    add_item(store, "new", clock, published=START - timedelta(hours=2))
    assert sorted(m.item_id for m in kept.waiting(clock())["a"]) == ["new", "old"]  # read since the last pass
    clock.advance(timedelta(hours=5))
    assert [m.item_id for m in kept.waiting(clock())["a"]] == ["new"]
    clock.advance(timedelta(hours=20))
    assert kept.waiting(clock())["a"] == []


def test_dispatchers_of_several_workers_racing_claim_each_item_once(tmp_path: Path, store: Store) -> None:
    clock = Clock()
    config = make_config(tmp_path, """  - name: a
    match: {regions: [AZ], threats: [terrorism]}
    schedule: immediate
    deliver: [{kind: file, path: out}]
""")
    workers = [Dispatcher(config, store, clock=clock) for _ in range(4)]
    for round_ in range(3):
        for i in range(5):
            add_item(store, f"r{round_}-{i}", clock)
        clock.advance(timedelta(seconds=1))
        with ThreadPoolExecutor(4) as pool:
            claimed = [c for outcomes, _ in pool.map(lambda d: d.claim_due(), workers) for c in outcomes.values()]
        assert sum(c.items for c in claimed) == 5  # every new item, in one digest or another, once
        assert all(not d.waiting(clock())["a"] for d in workers)  # the losers forgot what others claimed
    outbox = Outbox(store)
    assert len(outbox.claimed("a", [f"r{r}-{i}" for r in range(3) for i in range(5)])) == 15
