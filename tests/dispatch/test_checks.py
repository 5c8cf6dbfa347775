"""One alert's broken template holds that alert only: the others' digests go, its items wait (never
claimed, never lost) and it tries again after a backoff, not on every pass. Real SQLite files and
real file targets; a clock we move."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

from test_dispatch import Clock, add_item, make_config

from monitor.classify import load_engine
from monitor.config import Config
from monitor.dispatch.checks import check_config
from monitor.dispatch.dispatcher import DigestOutcome, Dispatcher
from monitor.errors import TemplateError
from monitor.store import Outbox, Store


def two_alerts(tmp_path: Path, template: str) -> Config:
    """``broken`` renders with ``template`` (mine.txt), ``good`` with the shipped templates."""
    (tmp_path / "mine.txt").write_text(template, encoding="utf-8")
    return make_config(tmp_path, f"""  - name: broken
    match: {{regions: [AZ]}}
    schedule: immediate
    template: {tmp_path}/mine.txt
    deliver: [{{kind: file, path: {tmp_path}/out/broken}}]
  - name: good
    match: {{regions: [AZ]}}
    schedule: immediate
    deliver: [{{kind: file, path: {tmp_path}/out/good}}]
""")


def fix(template: Path, text: str) -> None:
    """Rewrite a template so that Jinja sees it changed whatever the file system's clock resolution."""
    before = template.stat().st_mtime
    template.write_text(text, encoding="utf-8")
    os.utime(template, (before + 10, before + 10))


def open_store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/monitor.db")


def run(dispatcher: Dispatcher, force: bool = False) -> dict[str, DigestOutcome]:
    return {o.alert: o for o in asyncio.run(dispatcher.run(force=force))}


def test_a_template_failing_on_the_sample_holds_its_alert_and_the_others_go(tmp_path: Path) -> None:
    config = two_alerts(tmp_path, "ok\n{{ 1/0 }}\n")
    clock = Clock()
    store = open_store(tmp_path)
    try:
        add_item(store, "a", clock)
        dispatcher = Dispatcher(config, store, clock=clock)
        held = dispatcher.held.get("broken")
        assert held is not None and held.sample and held.error.line == 2
        outcomes = run(dispatcher, force=True)
        assert not outcomes["good"].failed and outcomes["good"].items == 1
        line = str(outcomes["broken"])
        assert outcomes["broken"].template_failed
        assert line.startswith("broken: digest not built, template ") and line.endswith(
            "mine.txt:2: ZeroDivisionError: division by zero; 1 item waits")
        assert Outbox(store).claimed("broken", ["a"]) == {}  # nothing claimed: the item still waits
        assert list((tmp_path / "out" / "good").iterdir()) and not (tmp_path / "out" / "broken").exists()

        # Fixed on disk: after the backoff (or a reload) the alert renders its digest with the item.
        fix(tmp_path / "mine.txt", "{{ count }} for {{ alert }}\n")
        assert run(dispatcher) == {}  # still waiting out its backoff: not tried on every pass
        clock.advance(timedelta(hours=1, minutes=10))
        outcomes = run(dispatcher)
        assert not outcomes["broken"].failed and outcomes["broken"].items == 1
        assert dispatcher.held.get("broken") is None
        [folder] = (tmp_path / "out" / "broken").iterdir()
        assert "1 for broken" in (folder / "message.eml").read_text(encoding="utf-8")
    finally:
        store.close()


def test_a_template_failing_only_on_real_data_holds_its_alert_with_a_backoff(tmp_path: Path) -> None:
    # The sample digest has two entries: this one renders it, and fails on a digest of one.
    config = two_alerts(tmp_path, "{{ 100 // (count - 1) }} percent\n")
    clock = Clock()
    store = open_store(tmp_path)
    try:
        dispatcher = Dispatcher(config, store, clock=clock)
        assert dispatcher.held.get("broken") is None
        add_item(store, "a", clock)
        outcomes = run(dispatcher)
        assert outcomes["good"].items == 1 and not outcomes["good"].failed
        assert outcomes["broken"].template_failed and "mine.txt:1: ZeroDivisionError" in str(outcomes["broken"])
        assert "(next try in " in str(outcomes["broken"])

        # The daemon passes every 2 s: the held alert is neither rendered nor reported again until
        # its backoff (about a minute) has passed.
        for _ in range(5):
            clock.advance(timedelta(seconds=2))
            assert run(dispatcher) == {}
        clock.advance(timedelta(minutes=2))
        assert run(dispatcher)["broken"].template_failed
        held = dispatcher.held.get("broken")
        assert held is not None and held.attempts == 2 and held.retry_at - clock() > timedelta(minutes=1)

        # A second item: the digest of two renders, and carries both, the first one not lost.
        add_item(store, "b", clock)
        clock.advance(timedelta(minutes=5))
        outcomes = run(dispatcher)
        assert outcomes["broken"].items == 2 and not outcomes["broken"].failed
        assert set(Outbox(store).claimed("broken", ["a", "b"])) == {"a", "b"}
    finally:
        store.close()


def test_preview_of_a_held_alert_is_its_template_error(tmp_path: Path) -> None:
    config = two_alerts(tmp_path, "{{ count + ' items' }}\n")
    clock = Clock()
    store = open_store(tmp_path)
    try:
        add_item(store, "a", clock)
        dispatcher = Dispatcher(config, store, clock=clock)
        try:
            dispatcher.preview("broken")
        except TemplateError as exc:
            assert exc.alert == "broken" and exc.line == 1 and exc.reason.startswith("TypeError")
        else:
            raise AssertionError("the preview of a held alert rendered")
        selection, rendered = dispatcher.preview("good")
        assert rendered is not None and len(selection.matches) == 1
    finally:
        store.close()


def test_check_config_names_every_alert_whose_templates_fail(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("{{ nothing_by_this_name }}\n", encoding="utf-8")
    (tmp_path / "body.json").write_text('{"n": {{ items|length / 0 }}}', encoding="utf-8")
    config = make_config(tmp_path, f"""  - name: broken
    match: {{regions: [AZ]}}
    template: {tmp_path}/mine.txt
    deliver: [{{kind: file, path: {tmp_path}/out}}]
  - name: hooked
    match: {{regions: [AZ]}}
    deliver: [{{kind: webhook, url: "http://127.0.0.1:9/hook", template: {tmp_path}/body.json}}]
  - name: good
    match: {{regions: [AZ]}}
    deliver: [{{kind: file, path: {tmp_path}/out}}]
""")
    errors = {e.alert: e for e in check_config(config, load_engine(config.rules))}
    assert set(errors) == {"broken", "hooked"}
    assert errors["broken"].located.endswith("mine.txt:1: UndefinedError: 'nothing_by_this_name' is undefined")
    assert errors["hooked"].located.endswith("body.json:1: webhook template: ZeroDivisionError: division by zero")
