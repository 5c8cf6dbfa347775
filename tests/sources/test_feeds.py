"""The feed source against a real loopback server, hostile documents and the shared corpus."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from monitor.config import FeedSource
from monitor.errors import SourceError
from monitor.sources.feeds import USER_AGENT, FetchResult, fetch_feed, make_client, parse_feed

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:georss="http://www.georss.org/georss">
<channel><title>Advisories</title><link>https://example.org/</link>
%s
</channel></rss>
"""


def item(n: int, *, body: str = "<p>Demonstrations in <b>Baku</b>.</p>") -> bytes:
    return (
        f"<item><title>Alert {n}</title><link>https://example.org/a/{n}</link>"
        f"<guid isPermaLink='false'>id-{n}</guid><pubDate>Tue, 16 Feb 2021 10:00:00 +0400</pubDate>"
        f"<description><![CDATA[{body}]]></description><georss:point>40.4 49.8</georss:point></item>"
    ).encode()


def feed(count: int = 3) -> bytes:
    return RSS % b"\n".join(item(i) for i in range(count))


def source(url: str, **kw: object) -> FeedSource:
    kw.setdefault("timeout", timedelta(seconds=5))
    return FeedSource(kind="feed", name="test-feed", url=url, **kw)


def fetch(src: FeedSource, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
    async def run() -> FetchResult:
        async with make_client() as client:
            return await fetch_feed(src, client, etag=etag, last_modified=last_modified)

    return asyncio.run(run())


def fetch_error(src: FeedSource) -> str:
    with pytest.raises(SourceError) as info:
        fetch(src)
    return str(info.value)


# -- HTTP ----------------------------------------------------------------------------------------

def test_200_entries_keep_what_the_entry_carries(http_server):
    url = http_server.serve("/feed", feed(2), headers={"Content-Type": "application/rss+xml"})
    result = fetch(source(url))
    assert len(result.entries) == 2 and not result.warnings
    first = result.entries[0]
    assert first.source == "test-feed"
    assert (first.guid, first.link, first.title) == ("id-0", "https://example.org/a/0", "Alert 0")
    assert first.body_is_html and "<b>Baku</b>" in first.body
    assert first.published == datetime(2021, 2, 16, 6, 0, tzinfo=UTC)
    assert [(p.lat, p.lon) for p in first.points] == [(40.4, 49.8)]
    assert http_server.requests[0][1]["user-agent"] == USER_AGENT


def test_304_round_trip_sends_validators(http_server):
    body = feed(1)

    def conditional(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == '"v1"':
            h.send_response(304)
            h.send_header("ETag", '"v1"')
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        h.send_response(200)
        h.send_header("ETag", '"v1"')
        h.send_header("Last-Modified", "Tue, 16 Feb 2021 10:00:00 GMT")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    http_server.routes["/cond"] = conditional
    src = source(http_server.url("/cond"))
    first = fetch(src)
    assert len(first.entries) == 1 and first.etag == '"v1"'
    assert first.last_modified == "Tue, 16 Feb 2021 10:00:00 GMT"
    second = fetch(src, etag=first.etag, last_modified=first.last_modified)
    assert second.not_modified and second.entries == [] and second.etag == '"v1"'
    assert second.last_modified == first.last_modified
    sent = http_server.requests[1][1]
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Tue, 16 Feb 2021 10:00:00 GMT"


@pytest.mark.parametrize(("status", "words"), [(404, "HTTP 404 Not Found"), (500, "HTTP 500 Internal Server Error"),
                                               (403, "HTTP 403 Forbidden")])
def test_error_statuses_name_the_status(http_server, status, words):
    url = http_server.serve("/x", b"nope", status=status)
    message = fetch_error(source(url))
    assert words in message and url in message


def test_410_means_gone(http_server):
    result = fetch(source(http_server.serve("/gone", b"", status=410)))
    assert result.gone and result.entries == []


def test_hanging_server_hits_the_deadline(http_server):
    def hang(h: BaseHTTPRequestHandler) -> None:
        http_server.stop.wait(30)

    http_server.routes["/hang"] = hang
    started = time.monotonic()
    message = fetch_error(source(http_server.url("/hang"), timeout=timedelta(seconds=0.5)))
    assert time.monotonic() - started < 3
    assert "timed out" in message or "no complete response" in message


def test_slow_drip_cannot_outlast_the_total_deadline(http_server):
    def drip(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", "100000")
        h.end_headers()
        h.wfile.write(b"<rss version='2.0'><channel>")
        h.wfile.flush()
        while not http_server.stop.wait(0.1):  # a byte every 0.1s never trips a read timeout
            h.wfile.write(b" ")
            h.wfile.flush()

    http_server.routes["/drip"] = drip
    started = time.monotonic()
    message = fetch_error(source(http_server.url("/drip"), timeout=timedelta(seconds=1)))
    assert time.monotonic() - started < 4
    assert "no complete response within 1s" in message


def redirect(to: str, status: int = 301):
    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Location", to)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return handler


def test_redirect_loop_is_named(http_server):
    http_server.routes["/a"] = redirect("/b", 302)
    http_server.routes["/b"] = redirect("/a", 302)
    message = fetch_error(source(http_server.url("/a")))
    assert "redirect loop" in message and "/a -> " in message


def test_too_many_redirects(http_server):
    for i in range(8):
        http_server.routes[f"/r{i}"] = redirect(f"/r{i + 1}", 307)
    assert "more than 5 redirects" in fetch_error(source(http_server.url("/r0")))


def test_redirect_off_http_is_refused(http_server):
    http_server.routes["/evil"] = redirect("file:///etc/passwd")
    assert "non-HTTP address" in fetch_error(source(http_server.url("/evil")))


def test_301_reports_the_permanent_url(http_server):
    target = http_server.serve("/new", feed(1))
    http_server.routes["/old"] = redirect("/new", 301)
    result = fetch(source(http_server.url("/old")))
    assert result.permanent_url == target and len(result.entries) == 1
    http_server.routes["/temp"] = redirect("/old", 302)
    assert fetch(source(http_server.url("/temp"))).permanent_url is None  # not all hops permanent


def test_50_mb_body_is_cut_at_the_cap(http_server):
    size = 50 * 1024 * 1024
    chunk = b"\n".join(item(i) for i in range(200)) + b"\n"
    written: list[int] = []

    def huge(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(size))
        h.end_headers()
        sent = 0
        head = RSS.split(b"%s")[0]
        try:
            h.wfile.write(head)
            sent += len(head)
            while sent < size:
                part = chunk[: size - sent]
                h.wfile.write(part)
                sent += len(part)
        except OSError:  # the client hung up: what it let us write is what it read
            pass
        written.append(sent)

    http_server.routes["/huge"] = huge
    # Budgets a loaded machine cannot miss: the cap, not a deadline, must be what stops the read.
    result = fetch(source(http_server.url("/huge"), max_bytes=512 * 1024, timeout=timedelta(seconds=120),
                          parse_timeout=timedelta(seconds=120)))
    assert result.entries and len(result.entries) < 5000
    assert all(e.guid and e.guid.startswith("id-") for e in result.entries)
    assert any("size cap" in w and "max_bytes" in w for w in result.warnings)
    deadline = time.monotonic() + 60
    while not written and time.monotonic() < deadline:
        time.sleep(0.05)
    assert written and written[0] < size // 2, "the client read on past the cap"


def test_html_page_instead_of_a_feed(http_server):
    page = (b'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head><title>301 Moved Permanently'
            b'</title></head><body><p>The document has moved <a href="https://lafd.org/alerts-rss.xml">here'
            b"</a>.</p></body></html>")
    message = fetch_error(source(http_server.serve("/page", page, headers={"Content-Type": "text/html"})))
    assert "an HTML page titled '301 Moved Permanently'" in message
    assert "https://lafd.org/alerts-rss.xml" in message


def test_connection_refused_is_a_source_error():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert "could not connect" in fetch_error(source(f"http://127.0.0.1:{port}/feed"))


# -- hostile and broken bodies -------------------------------------------------------------------

MALFORMED = (RSS % (item(1) + item(2) + b"<item><title>Broken & bad</title><guid>id-x</guid></item>"
                    + item(3)))

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>t</title>
<item><title>&lol9;</title><guid>laughs</guid><description>&lol9;</description></item>
</channel></rss>
"""

# One-line subset: feedparser's own line-based DOCTYPE regexes would not see these entities.
QUADRATIC = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "' + b"x" * 1000 + b'">]>'
             b'<rss version="2.0"><channel><item><guid>q</guid><title>' + b"&a;" * 100_000
             + b"</title></item></channel></rss>")

RUSSIAN = "Россия: уровень угрозы повышен, избегайте поездок в приграничные районы"


def windows_1251(declared: str) -> bytes:
    doc = (f'<?xml version="1.0" encoding="{declared}"?>\n<rss version="2.0"><channel><title>МИД</title>'
           f"<item><title>{RUSSIAN}</title><guid>ru-1</guid><description>{RUSSIAN}.</description></item>"
           "</channel></rss>")
    return doc.encode("windows-1251")


@pytest.mark.parametrize("declared", ["utf-8", "iso-8859-1"])
def test_windows_1251_with_a_wrong_declared_charset(http_server, declared):
    url = http_server.serve("/ru", windows_1251(declared),
                            headers={"Content-Type": f"application/rss+xml; charset={declared}"})
    result = fetch(source(url))
    assert result.entries[0].title == RUSSIAN
    assert any("cp1251" in w and declared in w for w in result.warnings)


def test_malformed_xml_keeps_entries_with_a_warning(http_server):
    result = fetch(source(http_server.serve("/bad", MALFORMED)))
    assert {"id-1", "id-2", "id-3"} <= {e.guid for e in result.entries}
    assert any(w.startswith("malformed XML at line") and "kept" in w for w in result.warnings)


@pytest.mark.parametrize("doc", [LAUGHS, QUADRATIC], ids=["billion-laughs", "quadratic-blowup"])
def test_entity_bombs_do_not_expand(http_server, doc):
    started = time.monotonic()
    result = fetch(source(http_server.serve("/bomb", doc)))
    assert time.monotonic() - started < 5
    assert any("removed a DOCTYPE" in w for w in result.warnings)
    for entry in result.entries:
        assert len(entry.title) + len(entry.body) < 10_000 + len(doc)
        assert "lollollol" not in entry.title + entry.body


def xxe_documents(canary: str) -> dict[str, bytes]:
    tail = b'<rss version="2.0"><channel><item><guid>x</guid><title>T &xxe;</title><description>&xxe;</description></item></channel></rss>'  # noqa: E501
    return {
        "file-entity": b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
        + tail,
        "http-entity": f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{canary}/entity">]>\n'.encode()
        + tail,
        "external-dtd": f'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "{canary}/evil.dtd">\n'.encode()
        + tail.replace(b"&xxe;", b""),
        "parameter-entities": (
            f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n  <!ENTITY % file SYSTEM "file:///etc/passwd">\n'
            f'  <!ENTITY % dtd SYSTEM "{canary}/payload.dtd">\n  %dtd;\n  %send;\n]>\n'
        ).encode() + tail,
        "public-id": f'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//A/B/EN" "{canary}/p.dtd" [\n'
        f'<!ENTITY xxe PUBLIC "-//A//EN" "{canary}/public">\n]>\n'.encode() + tail,
    }


def test_external_entities_are_never_read_or_fetched(http_server, canary_server):
    canary = canary_server.url("")
    etc = Path("/etc/passwd")
    passwd = etc.read_text(errors="replace").splitlines()[0] if etc.exists() else "root:"
    for name, doc in xxe_documents(canary).items():
        url = http_server.serve(f"/{name}", doc)
        try:
            result = fetch(source(url))
        except SourceError:
            continue
        for entry in result.entries:
            text = entry.title + entry.body + str(entry.extra)
            assert passwd not in text and "root:x:0:0" not in text, name
    assert canary_server.requests == []


def test_xxe_corpus_sample_against_a_canary(corpus_dir, canary_server):
    doc = (corpus_dir / "feeds" / "google__cap-library__xee.atom").read_bytes()
    doc = doc.replace(b"http://googleusercontent.com", canary_server.url("").encode())
    entries, warnings = parse_feed("xee", doc)
    assert len(entries) == 1 and any("removed a DOCTYPE" in w for w in warnings)
    assert canary_server.requests == []


def test_harmless_entity_declarations_still_work():
    doc = b'<!DOCTYPE rss [\n  <!ENTITY id "tag:example.com,">\n]>\n<rss version="2.0"><channel><item><guid isPermaLink="false">&id;2006-05-04:/blog/</guid></item></channel></rss>'  # noqa: E501
    entries, warnings = parse_feed("ok", doc)
    assert entries[0].guid == "tag:example.com,2006-05-04:/blog/" and warnings == []


def test_doctype_text_inside_content_is_not_a_doctype():
    doc = b"<rss version='2.0'><channel><item><guid>d</guid><description><![CDATA[ <!DOCTYPE ]]></description></item></channel></rss>"  # noqa: E501
    entries, warnings = parse_feed("ok", doc)
    assert entries[0].body.strip() == "<!DOCTYPE" and warnings == []


@pytest.mark.parametrize(("body", "words"), [
    (b"", "empty document"),
    (b"  \n\t ", "empty document"),
    (os.urandom(4096).replace(b"<", b"?") + b"\x00", "binary data"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "PNG image"),
    (b'{"version": "https://jsonfeed.org/version/1"}', "JSON"),
    (b"<?xml version='1.0'?><alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'/>", "root <alert>"),
    (b"/etc/passwd", "not a feed"),
])
def test_not_a_feed_is_a_clear_error(http_server, body, words):
    message = fetch_error(source(http_server.serve("/nf", body)))
    assert words in message
    assert "root:x:0:0" not in message


# -- local files ---------------------------------------------------------------------------------

def test_local_path_and_file_url_with_not_modified(tmp_path):
    path = tmp_path / "feed.xml"
    path.write_bytes(feed(2))
    first = fetch(source(str(path)))
    assert len(first.entries) == 2 and first.etag
    assert fetch(source(path.as_uri())).etag == first.etag
    again = fetch(source(str(path)), etag=first.etag)
    assert again.not_modified and again.entries == []
    path.write_bytes(feed(3))
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert len(fetch(source(str(path)), etag=first.etag).entries) == 3


def test_local_file_errors(tmp_path):
    assert "no such file" in fetch_error(source(str(tmp_path / "missing.xml")))
    assert "not a regular file" in fetch_error(source(str(tmp_path)))
    os.mkfifo(tmp_path / "fifo")
    assert "not a regular file" in fetch_error(source(str(tmp_path / "fifo")))
    (tmp_path / "empty.xml").write_bytes(b"")
    assert "empty document" in fetch_error(source(str(tmp_path / "empty.xml")))
    (tmp_path / "bin.xml").write_bytes(bytes(range(256)) * 16)
    assert "binary data" in fetch_error(source(str(tmp_path / "bin.xml")))


def test_local_file_over_the_cap(tmp_path):
    path = tmp_path / "big.xml"
    path.write_bytes(feed(400))
    result = fetch(source(str(path), max_bytes=20_000))
    assert 0 < len(result.entries) < 400 and any("size cap" in w for w in result.warnings)


# -- the real corpus -----------------------------------------------------------------------------

def test_us_advisories_capture(corpus_dir):
    data = (corpus_dir / "feeds" / "bharris183__travel_alerts__travel_advisories.xml").read_bytes()
    entries, warnings = parse_feed("us", data)
    assert len(entries) == 210 and warnings == []
    bhutan = entries[0]
    assert bhutan.title == "Bhutan - Level 3: Reconsider Travel"
    assert bhutan.category_domains["Threat-Level"] == "Level 3: Reconsider Travel"
    assert bhutan.category_domains["Country-Tag"] == "BT"
    assert bhutan.published == datetime(2021, 2, 16, tzinfo=UTC)
    assert bhutan.body_is_html and bhutan.link and bhutan.link.endswith("bhutan-travel-advisory.html")


def test_gdacs_capture(corpus_dir):
    data = (corpus_dir / "feeds" / "whatisc__up25__gdacs.xml").read_bytes()
    entries, _ = parse_feed("gdacs", data)
    assert len(entries) == 315
    first = entries[0]
    assert first.guid == "EQ1347961"
    assert [(p.lat, p.lon) for p in first.points] == [(32.3345, 142.4756)]
    assert first.extra["gdacs_eventid"] == "1347961" and first.extra["gdacs_episodeid"] == "1475389"
    assert first.extra["gdacs_alertlevel"] == "Green" and first.extra["gdacs_iso3"] == ""
    assert first.extra["enclosures"][0]["type"] == "image/png"
    assert len({e.guid for e in entries}) == 315


@pytest.mark.corpus
def test_every_corpus_document_parses_or_fails_cleanly(corpus_dir):
    files = sorted(p for p in (corpus_dir / "feedparser").rglob("*") if p.is_file() and p.suffix in (".xml", ".json"))
    files += sorted(p for p in (corpus_dir / "feeds").iterdir() if p.is_file())
    assert len(files) > 2000
    started = time.monotonic()
    parsed = failed = 0
    for path in files:
        try:
            entries, warnings = parse_feed(path.name, path.read_bytes())
        except SourceError as exc:
            failed += 1
            assert exc.reason
            continue
        parsed += 1
        assert all(isinstance(w, str) and w for w in warnings)
        for entry in entries:
            assert "root:x:0:0" not in entry.title + entry.body
    assert parsed > 1900 and time.monotonic() - started < 45


def test_relative_links_never_inherit_the_feed_urls_credentials(http_server):
    body = RSS % (b"<item><title>Relative</title><link>/news/2</link><guid isPermaLink='false'>g2</guid>"
                  b"<description>x</description></item>")
    url = http_server.serve("/feed", body, headers={"Content-Type": "application/rss+xml"})
    secret = url.replace("http://", "http://fuser:CANARYPASS@") + "?token=CANARYTOKEN"
    result = fetch(source(secret))
    link = result.entries[0].link or ""
    assert link.endswith("/news/2") and "CANARY" not in link
