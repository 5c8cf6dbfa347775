"""US State Department preset: FIPS tags, levels, parts, the JSON API fallback, the real capture."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from monitor.errors import SourceError
from monitor.official.us import parse_api, resolve_country, title_country

FEED = b"""<?xml version='1.0' encoding='utf-8'?>
<rss version='2.0'><channel><title>travel.state.gov: Travel Advisories</title>
<item><title>China - Level 3: Reconsider Travel</title><pubDate>Thu, 14 Jan 2021</pubDate>
<link>https://travel.state.gov/china.html</link><guid>https://travel.state.gov/china.html</guid>
<category domain='Threat-Level'>Level 3: Reconsider Travel</category>
<category domain='Country-Tag'>CH</category>
<description><![CDATA[<p>Reconsider travel to China due to arbitrary enforcement of laws.</p>]]></description>
</item>
<item><title>Senegal - Level 2: Exercise Increased Caution</title><pubDate>Tue, 16 Feb 2021</pubDate>
<link>https://travel.state.gov/senegal.html</link><guid>https://travel.state.gov/senegal.html</guid>
<category domain='Threat-Level'>Level 2: Exercise Increased Caution</category>
<category domain='Country-Tag'>SG</category>
<description><![CDATA[<p>Exercise increased caution in Senegal due to crime. Some areas have increased risk.</p>
<p>Reconsider travel to: the Casamance region due to landmines.</p>]]></description></item>
<item><title>Worldwide Caution - Caution</title><link>https://travel.state.gov/ww.html</link>
<category domain='Threat-Level'>Caution</category><category domain='Country-Tag'>caution</category>
<description>Be careful.</description></item>
</channel></rss>"""


def test_title_country_and_resolution() -> None:
    assert title_country("Kenya  - Level 3: Reconsider Travel") == "Kenya"
    assert title_country("Mainland China, Hong Kong & Macau - See Summaries") == "Mainland China, Hong Kong & Macau"
    assert resolve_country("Senegal", "SG") == ("SN", ())
    assert resolve_country("United Kingdom", "UK") == ("GB", ())
    # the title wins over a wrong tag (Switzerland was tagged SR, Suriname's code, in 2021)
    assert resolve_country("Switzerland", "SR") == ("CH", ())
    assert resolve_country("Mainland China, Hong Kong & Macau", "CH") == ("CN", ())
    assert resolve_country("French West Indies", "A3") == ("GP", ("MQ", "MF", "BL"))
    assert resolve_country("Guinea-Bissau", "GW") == ("GW", ())


def test_rss_items_carry_iso_country_level_and_parts(http_server, preset, fetch) -> None:
    url = http_server.serve("/TAsTWs.xml", FEED, headers={"Content-Type": "application/rss+xml", "ETag": '"v1"'})
    result = fetch(preset("us-state-dept", url))
    found = {e.title.split(" - ")[0]: e.extra.get("advisory") for e in result.entries}
    assert found["China"] == {"issuer": "us-state-dept-test", "country": "CN", "level": 3, "parts": False,
                              "label": "Level 3: Reconsider Travel", "scope": "country"}
    assert found["Senegal"]["country"] == "SN" and found["Senegal"]["level"] == 2 and found["Senegal"]["parts"]
    assert found["Worldwide Caution"] is None
    assert result.etag == '"v1"'


def test_json_api_is_the_fallback_when_the_feed_fails(http_server, preset, fetch) -> None:
    rss = http_server.serve("/TAsTWs.xml", b"blocked", status=403)
    api = http_server.serve("/api/TravelAdvisories", json.dumps([
        {"Title": "Azerbaijan - Level 2: Exercise Increased Caution", "Category": ["AJ"], "id": "x1",
         "Summary": "<p>Do not travel to the Nagorno-Karabakh region.</p>", "Published": "2021-01-05T00:00:00",
         "Updated": "2021-01-06T00:00:00", "Link": "https://travel.state.gov/azerbaijan.html"},
    ]).encode(), headers={"Content-Type": "application/json"})
    result = fetch(preset("us-state-dept", rss, fallback_url=f'"{api}"'))
    [entry] = result.entries
    assert entry.extra["advisory"]["country"] == "AZ"
    assert entry.extra["advisory"]["level"] == 2 and entry.extra["advisory"]["parts"] is True
    assert "JSON API" in result.warnings[0]


def test_both_failing_names_both(http_server, preset, fetch) -> None:
    rss = http_server.serve("/TAsTWs.xml", b"", status=500)
    api = http_server.serve("/api", b"<html>down</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(SourceError) as caught:
        fetch(preset("us-state-dept", rss, fallback_url=f'"{api}"'))
    assert "HTTP 500" in caught.value.reason and "JSON API fallback failed" in caught.value.reason


def test_api_rejects_a_non_list() -> None:
    with pytest.raises(SourceError):
        parse_api("us", {"error": "nope"})


@pytest.mark.corpus
def test_real_capture_every_item_with_iso_country_and_level(http_server, preset, fetch, corpus_dir: Path) -> None:
    data = (corpus_dir / "feeds" / "bharris183__travel_alerts__travel_advisories.xml").read_bytes()
    url = http_server.serve("/TAsTWs.xml", data, headers={"Content-Type": "application/rss+xml"})
    started = time.perf_counter()
    result = fetch(preset("us-state-dept", url))
    assert time.perf_counter() - started < 5  # a sanity bound only; bench/official.py measures
    assert len(result.entries) == 210
    levels = {}
    for entry in result.entries:
        adv = entry.extra.get("advisory")
        if entry.title.startswith("Worldwide Caution"):
            assert adv is None
            continue
        assert adv is not None, entry.title
        assert adv["level"] == int(re.search(r"Level (\d)", entry.category_domains["Threat-Level"]).group(1))
        levels[adv["country"]] = (adv["level"], entry.category_domains.get("Country-Tag"))
    assert len(levels) == 209
    assert levels["CN"] == (3, "CH") and levels["SN"] == (3, "SG") and levels["GB"][1] == "UK"
    assert levels["AZ"][1] == "AJ" and levels["ML"][0] == 4 and levels["CH"][1] == "SR"
