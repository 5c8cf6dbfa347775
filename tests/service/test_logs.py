"""Text logs: a value from a feed or a file name can never forge a log line or rewrite the terminal."""

from __future__ import annotations

import logging

from monitor.service.logs import TextFormatter, escape_line

FAKE = "2020-01-01 00:00:00,000 INFO monitor.service.daemon: all good"


def _format(message: str, *args: object) -> str:
    record = logging.LogRecord("monitor.sources.files", logging.WARNING, __file__, 1, message, args, None)
    return TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s").format(record)


def test_a_newline_in_a_value_cannot_start_a_line_of_its_own() -> None:
    text = _format("%s: skipped", f"x\n{FAKE}.txt")
    lines = text.splitlines()
    assert len(lines) == 2
    assert not lines[1].startswith(FAKE) and lines[1].strip().startswith(FAKE)


def test_control_characters_are_shown_not_obeyed() -> None:
    assert escape_line("a\rb\x1b[2Jc\x00") == "a\\x0db\\x1b[2Jc\\x00"


def test_indented_continuations_and_tabs_stay_as_written() -> None:
    assert escape_line("failed\n  hint: add smtp\tnow") == "failed\n  hint: add smtp\tnow"


def test_urls_in_any_logged_line_lose_their_credentials() -> None:
    # httpx logs every request's URL at INFO; --debug shows those lines.
    text = _format('HTTP Request: POST %s "HTTP/1.1 200 OK"', "http://huser:CANARYPW@127.0.0.1:9/hook?key=CANARYKEY")
    assert "CANARY" not in text and "http://huser:***@127.0.0.1:9/hook?key=***" in text
