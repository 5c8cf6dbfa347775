"""Secrets inside URLs never survive being shown."""

from __future__ import annotations

import pytest

from monitor.support.redact import redact_text, redact_url


@pytest.mark.parametrize(("url", "expected"), [
    ("http://fuser:PASS@127.0.0.1:8080/feed.xml?token=TOK", "http://fuser:***@127.0.0.1:8080/feed.xml?token=***"),
    ("https://h.example.org/x?key=K&page=2", "https://h.example.org/x?key=***&page=2"),
    ("https://h.example.org/x?api_key=K&X-Amz-Signature=S&sig=Q", "https://h.example.org/x?api_key=***&X-Amz-Signature=***&sig=***"),
    ("https://tok@h.example.org/x", "https://tok:***@h.example.org/x"),
    ("https://h.example.org/news?id=5&lang=en", "https://h.example.org/news?id=5&lang=en"),
    ("https://h.example.org/monkey?keyword=bomb", "https://h.example.org/monkey?keyword=bomb"),
])
def test_userinfo_and_credential_query_values_are_masked(url: str, expected: str) -> None:
    assert redact_url(url) == expected
    assert redact_url(expected) == expected


def test_urls_inside_text_are_redacted_and_the_rest_kept() -> None:
    text = "HTTP Request: GET http://u:PASS@127.0.0.1:9/missing.xml?token=TOK \"HTTP/1.1 404 Not Found\""
    out = redact_text(text)
    assert "PASS" not in out and "TOK" not in out
    assert out == "HTTP Request: GET http://u:***@127.0.0.1:9/missing.xml?token=*** \"HTTP/1.1 404 Not Found\""
    assert redact_text("source 'x': HTTP 404 at (http://a:B@h/f?key=C)") == "source 'x': HTTP 404 at (http://a:***@h/f?key=***)"
