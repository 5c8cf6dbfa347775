"""JSON presets: Canada (0-3 to 1-4), Smartraveller (both shapes), FCDO (index, then each country)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.errors import SourceError

JSON = {"Content-Type": "application/json"}


def test_canada_states_shift_by_one_and_regional_is_parts(http_server, preset, fetch):
    doc = {"metadata": {}, "data": {
        "AF": {"country-iso": "AF", "advisory-state": 3, "has-regional-advisory": 0,
               "date-published": {"timestamp": 1700000000, "date": "2023-11-14 22:13:20"},
               "eng": {"name": "Afghanistan", "url-slug": "afghanistan", "advisory-text": "Avoid all travel"}},
        "AZ": {"country-iso": "AZ", "advisory-state": 1, "has-regional-advisory": 1,
               "eng": {"name": "Azerbaijan", "url-slug": "azerbaijan",
                       "advisory-text": "Exercise a high degree of caution"}},
        "NO": {"country-iso": "NO", "advisory-state": 0, "eng": {"name": "Norway"}},
        "ZZ": {"country-iso": "ZZ", "advisory-state": 9},
    }}
    url = http_server.serve("/index-alpha-eng.json", json.dumps(doc).encode(), headers=JSON)
    entries = {e.extra["advisory"]["country"]: e for e in fetch(preset("canada", url)).entries}
    assert sorted(entries) == ["AF", "AZ", "NO"]
    assert entries["AF"].extra["advisory"]["level"] == 4 and entries["AF"].published is not None
    assert entries["AZ"].extra["advisory"]["level"] == 2 and entries["AZ"].extra["advisory"]["parts"] is True
    assert entries["NO"].extra["advisory"]["label"] == "Take normal security precautions"
    assert entries["AZ"].link == "https://travel.gc.ca/destinations/azerbaijan"
    assert "application/json" in http_server.requests[-1][1]["accept"]


def test_json_presets_reject_what_is_not_their_document(http_server, preset, fetch):
    url = http_server.serve("/x.json", b"<html><title>Sorry</title></html>", headers={"Content-Type": "text/html"})
    with pytest.raises(SourceError, match="expected JSON"):
        fetch(preset("canada", url))
    url = http_server.serve("/y.json", b'{"nothing": 1}', headers=JSON)
    with pytest.raises(SourceError, match="no 'data'"):
        fetch(preset("canada", url))


def test_smartraveller_export_levels_and_stricter_regions(http_server, preset, fetch):
    export = [
        {"title": "Azerbaijan", "field_overall_advice_level": "Exercise a high degree of caution",
         "field_advice_levels": "<p>Do not travel to the Nagorno-Karabakh region.</p>",
         "field_url": "/destinations/europe/azerbaijan", "changed": "Fri, 2025-11-14 14:22"},
        {"title": "Japan", "field_overall_advice_level": "Exercise normal safety precautions"},
        {"title": "Antarctica", "field_overall_advice_level": "No travel advice"},
    ]
    url = http_server.serve("/destinations-export", json.dumps(export).encode(), headers=JSON)
    entries = {e.extra["advisory"]["country"]: e for e in fetch(preset("smartraveller", url)).entries}
    assert sorted(entries) == ["AZ", "JP"]
    assert entries["AZ"].extra["advisory"]["level"] == 2 and entries["AZ"].extra["advisory"]["parts"] is True
    assert entries["AZ"].link == "https://www.smartraveller.gov.au/destinations/europe/azerbaijan"
    assert entries["JP"].extra["advisory"]["parts"] is False


@pytest.mark.corpus
def test_smartraveller_mirror_capture(http_server, preset, fetch, corpus_dir: Path):
    data = (corpus_dir / "advisories" / "smartraveller" / "advisories.json").read_bytes()
    url = http_server.serve("/advisories.json", data, headers=JSON)
    entries = fetch(preset("smartraveller", url)).entries
    rows = json.loads(data)["advisories"]
    assert len(entries) == len(rows)
    want = {r["country"]["alpha_2"]: r["level"] for r in rows}
    assert {e.extra["advisory"]["country"]: e.extra["advisory"]["level"] for e in entries} == want


def _country(slug: str, name: str, statuses: list[str]) -> dict[str, object]:
    return {"content_id": f"id-{slug}", "base_path": f"/foreign-travel-advice/{slug}", "title": f"{name} travel advice",
            "document_type": "travel_advice", "public_updated_at": "2024-02-01T10:00:00+00:00",
            "update_type": "major",
            "details": {"country": {"slug": slug, "name": name}, "alert_status": statuses,
                        "change_description": "Latest update: security situation",
                        "parts": [{"slug": "summary", "title": "Summary", "body": "<p>Protests in the capital.</p>"},
                                  {"slug": "health", "title": "Health", "body": "<p>Vaccines.</p>"}]}}


def test_fcdo_index_then_each_country(http_server, preset, fetch):
    index = {"document_type": "travel_advice_index", "details": {}, "links": {"children": [
        {"api_path": "/api/content/foreign-travel-advice/azerbaijan", "title": "Azerbaijan travel advice",
         "details": {"country": {"slug": "azerbaijan", "name": "Azerbaijan"}}},
        {"api_path": "/api/content/foreign-travel-advice/mali", "title": "Mali travel advice",
         "details": {"country": {"slug": "mali", "name": "Mali"}}},
        {"api_path": "/api/content/foreign-travel-advice/gone", "title": "Gone travel advice",
         "details": {"country": {"slug": "gone", "name": "Gone"}}},
    ]}}
    url = http_server.serve("/api/content/foreign-travel-advice", json.dumps(index).encode(), headers=JSON)
    http_server.serve("/api/content/foreign-travel-advice/azerbaijan", json.dumps(
        _country("azerbaijan", "Azerbaijan", ["avoid_all_travel_to_parts"])).encode(), headers=JSON)
    http_server.serve("/api/content/foreign-travel-advice/mali", json.dumps(
        _country("mali", "Mali", ["avoid_all_travel_to_whole_country"])).encode(), headers=JSON)
    result = fetch(preset("fcdo", url))
    got = {e.extra["advisory"]["country"]: e for e in result.entries}
    assert got["AZ"].extra["advisory"]["level"] == 3 and got["AZ"].extra["advisory"]["parts"] is True
    assert got["ML"].extra["advisory"]["level"] == 4
    assert got["ML"].extra["fcdo"]["update_type"] == "major"
    assert "Protests in the capital" in got["ML"].body and "Vaccines" not in got["ML"].body
    assert got["ML"].link == "https://www.gov.uk/foreign-travel-advice/mali"
    assert any("404" in w for w in result.warnings)

    only = fetch(preset("fcdo", url, countries="[ML]"))
    assert [e.extra["advisory"]["country"] for e in only.entries] == ["ML"]


@pytest.mark.corpus
def test_fcdo_real_content_items(http_server, preset, fetch, corpus_dir: Path):
    feeds = corpus_dir / "feeds"
    full = (feeds / "alphagov__publishing-api__travel_advice_frontend_full-country.json").read_bytes()
    withdrawn = (feeds / "alphagov__publishing-api__travel_advice_frontend_withdrawn-full-country.json").read_bytes()
    [entry] = fetch(preset("fcdo", http_server.serve("/albania", full, headers=JSON))).entries
    assert entry.extra["advisory"]["country"] == "AL" and entry.extra["advisory"]["level"] == 1
    assert "Summary" in entry.extra["fcdo"]["parts"]
    assert fetch(preset("fcdo", http_server.serve("/old", withdrawn, headers=JSON))).entries == []
