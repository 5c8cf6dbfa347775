"""CAP preset: alerts, Update/Cancel of the same story, indexes, invalid documents rejected cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import SourceError
from monitor.official.cap import CapError, parse_document

NS = "urn:oasis:names:tc:emergency:cap:1.2"


def alert(identifier: str, msg_type: str = "Alert", references: str = "", severity: str = "Severe",
          scope: str = "<scope>Public</scope>", status: str = "Actual") -> bytes:
    refs = f"<references>{references}</references>" if references else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="{NS}"><identifier>{identifier}</identifier><sender>met@example.org</sender>
<sent>2024-03-01T10:00:00+01:00</sent><status>{status}</status><msgType>{msg_type}</msgType>{scope}{refs}
<info><language>en-GB</language><category>Met</category><event>Flood</event><urgency>Immediate</urgency>
<severity>{severity}</severity><certainty>Likely</certainty><headline>Flood warning for the Kura valley</headline>
<description>Rivers rising.</description><area><areaDesc>Kura valley</areaDesc>
<polygon>40.0,47.0 40.5,47.0 40.5,47.5 40.0,47.0</polygon><circle>40.4,49.9 10</circle>
<geocode><valueName>ISO3166-2</valueName><value>AZ-SAB</value></geocode></area></info></alert>""".encode()


def test_an_alert_becomes_an_entry_with_level_and_area():
    [entry], links, warnings = parse_document("cap", alert("A1"))
    assert (links, warnings) == ([], [])
    assert entry.guid == "cap:met@example.org,A1"
    assert entry.title == "Flood warning for the Kura valley"
    assert entry.extra["advisory"]["level"] == 3 and entry.extra["advisory"]["scope"] == "event"
    area = entry.extra["cap"]["areas"][0]
    assert area["desc"] == "Kura valley" and area["circles"][0]["radius_km"] == 10
    assert area["geocodes"] == {"ISO3166-2": "AZ-SAB"}
    assert len(entry.points) == 2


def test_update_and_cancel_refer_to_the_original_story():
    ref = "met@example.org,A1,2024-03-01T10:00:00+01:00"
    [update], _, _ = parse_document("cap", alert("A2", "Update", ref, severity="Extreme"))
    [cancel], _, _ = parse_document("cap", alert("A3", "Cancel", f"{ref} met@example.org,A2,2024-03-01T11:00:00Z"))
    assert update.guid == cancel.guid == "cap:met@example.org,A1"
    assert update.extra["advisory"]["level"] == 4
    assert cancel.title.startswith("Cancelled: ")


def test_invalid_and_non_actual_alerts():
    with pytest.raises(CapError, match="lacks required scope"):
        parse_document("cap", alert("A1", scope=""))
    with pytest.raises(CapError, match="not a CAP namespace"):
        parse_document("cap", alert("A1").replace(b"emergency:cap:1.2", b"emergency:alerts:1.2"))
    with pytest.raises(CapError, match="not well-formed"):
        parse_document("cap", b"<alert><unclosed></alert>")
    assert parse_document("cap", alert("T1", status="Test"))[0] == []


def test_an_index_is_followed_to_its_alerts(http_server, preset, fetch):
    one = http_server.serve("/cap/one.xml", alert("A1"), headers={"Content-Type": "application/cap+xml"})
    http_server.serve("/cap/bad.xml", alert("B1", scope=""), headers={"Content-Type": "application/cap+xml"})
    index = f"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>alerts</title>
<entry><id>1</id><title>one</title><link href="{one}"/><updated>2024-03-01T10:00:00Z</updated></entry>
<entry><id>2</id><title>bad</title><link href="/cap/bad.xml"/><updated>2024-03-01T10:00:00Z</updated></entry>
</feed>""".encode()
    url = http_server.serve("/index.atom", index, headers={"Content-Type": "application/atom+xml"})
    result = fetch(preset("cap", url))
    assert [e.guid for e in result.entries] == ["cap:met@example.org,A1"]
    assert any("lacks required scope" in w for w in result.warnings)


def test_an_invalid_single_alert_fails_the_poll_with_a_reason(http_server, preset, fetch):
    url = http_server.serve("/a.cap", alert("A1", scope=""), headers={"Content-Type": "application/cap+xml"})
    with pytest.raises(SourceError, match=r"invalid CAP .* lacks required scope"):
        fetch(preset("cap", url))


@pytest.mark.corpus
def test_every_cap_sample_gives_entries_or_a_clean_rejection(http_server, preset, fetch, corpus_dir: Path):
    samples = sorted(p for p in (corpus_dir / "feeds").iterdir()
                     if p.name.startswith(("google__cap-library__", "kelvinn__capparselib__", "morrissimo__")))
    assert len(samples) >= 40
    rejected, alerts = [], 0
    for i, path in enumerate(samples):
        url = http_server.serve(f"/s{i}", path.read_bytes(), headers={"Content-Type": "application/xml"})
        try:
            result = fetch(preset("cap", url, follow_links="false"))
        except SourceError as exc:
            rejected.append(path.name)
            assert exc.reason  # a message, never a crash
            continue
        alerts += len(result.entries)
    assert "google__cap-library__invalid.cap" in rejected
    assert "kelvinn__capparselib__invalid_xmlns.cap" in rejected
    assert "google__cap-library__xee.cap" in rejected
    assert "google__cap-library__thunderstorm.cap" not in rejected
    assert alerts >= 100
    assert len(http_server.requests) == len(samples)  # no entity, DTD or link was ever fetched
