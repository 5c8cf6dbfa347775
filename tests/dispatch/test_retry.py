"""`digests retry` after a config change: the digest goes to the alert's current targets, never twice
to one that has it. Real SQLite files and PostgreSQL, a real HTTP receiver on loopback, real file targets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_dispatch import Clock, add_item, make_config

from monitor.config import Config
from monitor.dispatch.dispatcher import Dispatcher
from monitor.errors import UsageError
from monitor.store import Outbox, Store
from tests.webhooks import Hooks, serve_hooks


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    with serve_hooks() as app:
        yield app


def config_with(tmp_path: Path, *targets: str, name: str = "w") -> Config:
    lines = "\n".join(f"      - {t}" for t in targets)
    return make_config(tmp_path, f"""  - name: {name}
    match: {{regions: [AZ]}}
    deliver:
{lines}
""")


def first_digest(config: Config, store: Store, clock: Clock) -> str:
    add_item(store, "a", clock)
    [outcome] = asyncio.run(Dispatcher(config, store, clock=clock).run(force=True))
    assert outcome.digest_id is not None
    return outcome.digest_id


def test_a_retry_after_the_url_is_fixed_delivers_to_the_fixed_url_once(tmp_path: Path, store: Store,
                                                                       hooks: Hooks) -> None:
    clock = Clock()
    out = tmp_path / "out"
    wrong = config_with(tmp_path, f'{{kind: webhook, url: "{hooks.url("/wrong/t0ken")}", timeout: 5s}}',
                        f"{{kind: file, path: {out}}}")
    digest_id = first_digest(wrong, store, clock)
    assert hooks.paths() == ["/wrong/t0ken"]  # 404: failed for good

    fixed = config_with(tmp_path, f'{{kind: webhook, url: "{hooks.url("/right/t0ken")}", timeout: 5s}}',
                        f"{{kind: file, path: {out}}}")
    dispatcher = Dispatcher(fixed, store, clock=clock)
    plan = dispatcher.retry(digest_id)
    assert plan is not None
    assert {s.kind: s.action for s in plan.steps} == {"webhook": "moved", "file": "sent"}
    [outcome] = asyncio.run(dispatcher.deliver_due(digest_id=digest_id))
    results = {r.target: r for r in outcome.results if r.target}
    lines = [s.line(digest_id, results) for s in plan.steps]
    assert any(line.endswith("retried to the alert's current webhook 127.0.0.1:"
                             f"{hooks.port}: delivered") for line in lines), lines
    assert any("file" in line and "sent already" in line for line in lines), lines
    assert all("t0ken" not in line for line in lines)  # a webhook's path may hold its secret
    assert hooks.received[1:] == [("/right/t0ken", digest_id)]  # the same digest id: the same digest
    assert [p.name for p in out.iterdir()] == [digest_id]  # the file target had it: not written again

    [record] = Outbox(store).list_digests()
    assert sorted((d.kind, d.status) for d in record.deliveries) == [
        ("file", "sent"), ("webhook", "replaced"), ("webhook", "sent")]
    # Asked again, or a cycle later: nothing goes anywhere twice.
    again = dispatcher.retry(digest_id)
    assert again is not None and all(s.action == "sent" for s in again.steps)
    asyncio.run(dispatcher.deliver_due(digest_id=digest_id))
    asyncio.run(dispatcher.run(force=True))
    assert len(hooks.received) == 2


def test_a_retry_sends_only_what_failed_to_targets_that_lack_it(tmp_path: Path, store: Store, hooks: Hooks) -> None:
    clock = Clock()
    ok = f'{{kind: webhook, url: "{hooks.url("/a/ok")}", timeout: 5s}}'
    digest_id = first_digest(config_with(tmp_path, ok, f'{{kind: webhook, url: "{hooks.url("/wrong/b")}"}}'),
                             store, clock)
    # /wrong/b became /c; an email target was added since: a retry does not widen the audience.
    changed = config_with(tmp_path, ok, f'{{kind: webhook, url: "{hooks.url("/c")}"}}',
                          "{kind: email, to: [new@example.org]}")
    dispatcher = Dispatcher(changed, store, clock=clock)
    plan = dispatcher.retry(digest_id)
    assert plan is not None and sorted(s.action for s in plan.steps) == ["moved", "sent"]
    asyncio.run(dispatcher.deliver_due(digest_id=digest_id))
    assert sorted(hooks.paths()) == ["/a/ok", "/c", "/wrong/b"]
    [record] = Outbox(store).list_digests()
    assert {d.kind for d in record.deliveries} == {"webhook"}

    # The change undone (/c back to /wrong/b): nothing failed, so nothing is sent; /c has the digest.
    again = Dispatcher(config_with(tmp_path, ok, f'{{kind: webhook, url: "{hooks.url("/wrong/b")}"}}'), store,
                       clock=clock).retry(digest_id)
    assert again is not None and [s.action for s in again.steps] == ["sent", "sent"]
    assert len(hooks.received) == 3


def test_a_target_replaced_then_current_again_gets_the_digest(tmp_path: Path, store: Store, hooks: Hooks) -> None:
    clock = Clock()
    hooks.refused = {"/d", "/e"}  # both down for now
    first = config_with(tmp_path, f'{{kind: webhook, url: "{hooks.url("/d")}"}}')
    digest_id = first_digest(first, store, clock)
    second = Dispatcher(config_with(tmp_path, f'{{kind: webhook, url: "{hooks.url("/e")}"}}'), store, clock=clock)
    assert second.retry(digest_id) is not None
    asyncio.run(second.deliver_due(digest_id=digest_id))  # /e refuses as well
    hooks.refused = set()
    back = Dispatcher(first, store, clock=clock)
    plan = back.retry(digest_id)
    assert plan is not None and [(s.action, s.labels) for s in plan.steps] == [
        ("moved", [f"webhook 127.0.0.1:{hooks.port}"])]
    asyncio.run(back.deliver_due(digest_id=digest_id))
    assert hooks.paths() == ["/d", "/e", "/d"]
    [record] = Outbox(store).list_digests()
    assert sorted(d.status for d in record.deliveries) == ["replaced", "sent"]


def test_a_retry_whose_alert_or_target_kind_is_gone_says_so(tmp_path: Path, store: Store, hooks: Hooks) -> None:
    clock = Clock()
    digest_id = first_digest(config_with(tmp_path, f'{{kind: webhook, url: "{hooks.url("/wrong/x")}"}}'),
                             store, clock)
    renamed = config_with(tmp_path, f'{{kind: webhook, url: "{hooks.url("/y")}"}}', name="other")
    with pytest.raises(UsageError, match=f"digest {digest_id} is of alert 'w', which the config no longer has"):
        Dispatcher(renamed, store, clock=clock).retry(digest_id)

    files_only = config_with(tmp_path, f"{{kind: file, path: {tmp_path}/out}}")
    plan = Dispatcher(files_only, store, clock=clock).retry(digest_id)
    assert plan is not None and not plan.sends
    [step] = plan.steps
    assert step.action == "gone" and step.failed({})
    assert step.line(digest_id, {}).endswith("the alert has no webhook target any more: not retried")
    assert hooks.paths() == ["/wrong/x"] and not (tmp_path / "out").exists()
