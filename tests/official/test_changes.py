"""Level history: baselines, raised/lowered/parts changes as items, re-publications as no news."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import parse_config
from monitor.models import Classification, OfficialAdvisory, RawEntry, RegionHit, Severity
from monitor.official.changes import Observation, apply_official, detect, observations, plan_levels
from monitor.service.pipeline import Pipeline
from monitor.store import AdvisoryLevels, LevelRow, Store

NOW = datetime(2024, 3, 1, 12, tzinfo=UTC)


def entry(country: str, level: int, parts: bool = False, guid: str | None = None, scope: str = "country") -> RawEntry:
    adv = {"issuer": "us", "country": country, "level": level, "parts": parts, "label": f"Level {level}",
           "scope": scope}
    return RawEntry(source="us", guid=guid or f"g-{country}", title=f"{country} - Level {level}", body="text",
                    extra={"advisory": adv})


def row(country: str, level: int, parts: bool = False) -> LevelRow:
    return LevelRow("us", country, level, parts, f"Level {level}", NOW - timedelta(days=9), NOW - timedelta(days=1))


def test_first_sighting_is_a_baseline_not_a_change():
    found = detect({}, observations([entry("ML", 4)]), NOW)
    assert found.changes == []
    assert [r.country for r in found.write.insert] == ["ML"]
    assert [h.change for h in found.write.history] == ["baseline"]


def test_raised_lowered_parts_and_republication():
    current = {("us", c): row(c, lv, p) for c, lv, p in [("AZ", 3, False), ("ML", 4, False), ("SN", 3, False),
                                                          ("IN", 2, False)]}
    found = detect(current, observations([entry("AZ", 4), entry("ML", 3), entry("SN", 3), entry("IN", 2, True)]), NOW)
    assert {(c.observation.country, c.change, c.old_level) for c in found.changes} == {
        ("AZ", "raised", 3), ("ML", "lowered", 4), ("IN", "parts", 2)}
    republished = next(r for r in found.write.update if r.country == "SN")
    assert republished.since == NOW - timedelta(days=9) and republished.last_seen == NOW
    raised = next(r for r in found.write.update if r.country == "AZ")
    assert raised.since == NOW  # a level change is dated when it is observed


def test_event_advisories_never_move_a_country_level():
    assert observations([entry("PH", 4, scope="event")]) == []


def test_change_items_say_what_changed():
    made, write = plan_levels([row("ML", 3)], [entry("ML", 4)], NOW, source_kind="us-state-dept")
    [item] = made
    assert item.title == "ML: US level raised from 3 to 4"
    change = item.extra["advisory_change"]
    assert (change["change"], change["old"], change["new"], change["country"]) == ("raised", 3, 4, "ML")
    assert item.published == NOW and item.source == "us"
    assert write.history[0].item_id is not None


def test_detection_speed_sanity():
    # A sanity bound only: bench/official.py measures and prints the figure.
    current = {("us", f"C{i}"): row(f"C{i}", 1 + i % 4) for i in range(1000)}
    observed = [Observation("us", f"C{i}", 1 + (i + (i % 7 == 0)) % 4, False, "x", None, None) for i in range(1000)]
    found = detect(current, observed, NOW)
    assert len(found.changes) == len([i for i in range(1000) if i % 7 == 0])


def test_structured_fields_beat_text_guessing():
    cls = Classification(countries=["AM", "AZ"], severity=Severity.medium, regions=[
        RegionHit(id="AM", name="Armenia", kind="country", role="primary", score=5),
        RegionHit(id="nagorno-karabakh", name="Nagorno-Karabakh", kind="region", country="AZ", score=2)])
    out = apply_official(cls, OfficialAdvisory(issuer="us", country="AZ", level=4, parts=False, label="Level 4"))
    assert out.countries == ["AZ", "AM"] and out.severity is Severity.critical
    assert out.regions[0].id == "AZ" and out.regions[0].role == "primary"
    assert any(r.id == "nagorno-karabakh" for r in out.regions)
    assert apply_official(cls, None) is cls


FEED = """<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>{items}</channel></rss>"""
ITEM = """<item><title>{name} - Level {level}: {label}</title><link>https://example.gov/{tag}</link>
<guid>https://example.gov/{tag}</guid><pubDate>Tue, 16 Feb 2021</pubDate>
<category domain='Threat-Level'>Level {level}: {label}</category><category domain='Country-Tag'>{tag}</category>
<description>{text}</description></item>"""
LABELS = {2: "Exercise Increased Caution", 3: "Reconsider Travel", 4: "Do Not Travel"}


def us_feed(levels: dict[str, tuple[str, int, str]]) -> bytes:
    items = "".join(ITEM.format(name=name, level=lv, label=LABELS[lv], tag=tag, text=text)
                    for tag, (name, lv, text) in levels.items())
    return FEED.format(items=items).encode()


def _poll(pipeline: Pipeline) -> None:
    [report] = asyncio.run(pipeline.ingest())
    assert report.ok, report.error


def run_two_polls(http_server, tmp_path: Path, first: bytes, second: bytes) -> tuple[Store, Pipeline, list]:
    url = http_server.serve("/TAsTWs.xml", first, headers={"Content-Type": "application/rss+xml"})
    config = parse_config(f'database: "sqlite:///{tmp_path}/m.db"\nsources:\n'
                          f'  - {{name: us, kind: us-state-dept, url: "{url}", fallback_url: null}}\n')
    store = Store.open(config.database)
    pipeline = Pipeline(config, store)
    _poll(pipeline)
    assert not [i for i in store.list_items() if "advisory_change" in i.extra]
    http_server.serve("/TAsTWs.xml", second, headers={"Content-Type": "application/rss+xml"})
    _poll(pipeline)
    changes = [i for i in store.list_items() if "advisory_change" in i.extra]
    return store, pipeline, changes


def test_one_up_one_down_one_text_only_gives_two_change_items(http_server, tmp_path):
    before = {"AJ": ("Azerbaijan", 3, "Reconsider travel."), "ML": ("Mali", 4, "Do not travel to Mali."),
              "SG": ("Senegal", 3, "Reconsider travel.")}
    after = {"AJ": ("Azerbaijan", 4, "Do not travel."), "ML": ("Mali", 3, "Reconsider travel."),
             "SG": ("Senegal", 3, "Reconsider travel. Updated with new information on road safety.")}
    store, pipeline, changes = run_two_polls(http_server, tmp_path, us_feed(before), us_feed(after))
    try:
        assert sorted(i.title for i in changes) == ["Azerbaijan: US level raised from 3 to 4",
                                                    "Mali: US level lowered from 4 to 3"]
        levels = {r.country: r.level for r in AdvisoryLevels(store).current("us")}
        assert levels == {"AZ": 4, "ML": 3, "SN": 3}
        assert [h.change for h in AdvisoryLevels(store).history("us", "AZ")] == ["raised", "baseline"]
    finally:
        pipeline.close()
        store.close()


def test_cli_advisories_json_and_table(http_server, tmp_path, capsys):
    feed = us_feed({"AJ": ("Azerbaijan", 3, "x"), "CH": ("China", 3, "y"), "UK": ("United Kingdom", 2, "z")})
    url = http_server.serve("/TAsTWs.xml", feed, headers={"Content-Type": "application/rss+xml"})
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f'database: sqlite:///{tmp_path}/m.db\nsources:\n'
                   f'  - {{name: us, kind: us-state-dept, url: "{url}", fallback_url: null}}\n')
    store = Store.open(f"sqlite:///{tmp_path}/m.db")
    pipeline = Pipeline(parse_config(cfg.read_text(), str(cfg)), store)
    try:
        _poll(pipeline)
    finally:
        pipeline.close()
        store.close()
    capsys.readouterr()
    assert main(["advisories", "--config", str(cfg), "--format", "json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(d["country"], d["level"]) for d in lines] == [("AZ", 3), ("CN", 3), ("GB", 2)]
    assert set(lines[0]) == {"issuer", "country", "level", "label", "parts", "since"}
    assert lines[0]["issuer"] == "us" and lines[0]["since"].startswith("2021-02-16")
    assert main(["advisories", "--config", str(cfg), "--country", "CN"]) == 0
    table = capsys.readouterr().out
    assert "CN China" in table and "AZ" not in table.split("\n", 1)[1]
    assert main(["advisories", "--config", str(cfg), "--format", "json", "--limit", "1"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


@pytest.mark.corpus
def test_real_capture_edited_gives_exactly_two_change_items(http_server, tmp_path, corpus_dir: Path):
    original = (corpus_dir / "feeds" / "bharris183__travel_alerts__travel_advisories.xml").read_text("utf-8")
    text = original.replace("Azerbaijan - Level 3: Reconsider Travel", "Azerbaijan - Level 4: Do Not Travel")
    i = text.find("Azerbaijan - Level 4")
    j = text.find("</item>", i)
    text = text[:i] + text[i:j].replace("Level 3: Reconsider Travel", "Level 4: Do Not Travel") + text[j:]
    text = text.replace("Mali - Level 4: Do Not Travel", "Mali - Level 3: Reconsider Travel")
    i = text.find("Mali - Level 3")
    j = text.find("</item>", i)
    text = text[:i] + text[i:j].replace("Level 4: Do Not Travel", "Level 3: Reconsider Travel") + text[j:]
    i = text.find("Senegal - Level 3")
    j = text.find("</description>", i)
    text = text[:j] + " Updated with new information on road safety." + text[j:]
    store, pipeline, changes = run_two_polls(http_server, tmp_path, original.encode(), text.encode())
    try:
        assert sorted((i.extra["advisory_change"]["country"], i.extra["advisory_change"]["change"])
                      for i in changes) == [("AZ", "raised"), ("ML", "lowered")]
        assert len(AdvisoryLevels(store).current("us")) >= 209
    finally:
        pipeline.close()
        store.close()


def test_digest_shows_issuer_level_badge_and_old_to_new():
    from pathlib import Path as _Path

    from monitor.config import AlertRule, FileTarget
    from monitor.digest.render import render
    from monitor.models import Digest, DigestEntry, Item

    made, _ = plan_levels([row("AZ", 3)], [entry("AZ", 4)], NOW, source_kind="us-state-dept")
    change = made[0]
    item = Item(id="c1", source="us", title="Azerbaijan: US level raised from 3 to 4", text="text", published=NOW,
                first_seen=NOW, content_hash="h", extra=change.extra)
    cls = apply_official(Classification(), change.extra.advisory, region_name="Azerbaijan")
    digest = Digest(id="d1", alert="raised", created_at=NOW, entries=[DigestEntry(item=item, classification=cls)])
    rule = AlertRule(name="raised", deliver=[FileTarget(kind="file", path=_Path("/tmp/unused"))])
    rendered = render(digest, rule)
    assert "Official: us level 4" in rendered.text and "Level raised: level 3 -> 4" in rendered.text
    assert "us level 4" in rendered.html and "level 3 -&gt; 4" in rendered.html
    [payload] = rendered.payload["items"]
    assert payload["advisory"]["level"] == 4 and payload["advisory_change"]["change"] == "raised"
    assert payload["severity"] == "critical" and payload["countries"] == ["AZ"]


def test_alert_rules_match_level_changes_and_min_level():
    from monitor.alerts import ItemFacts, compile_rules

    config = parse_config("""
sources: [{name: us, kind: us-state-dept}]
alerts:
  - {name: raised, match: {advisory_change: [raised]}, deliver: [{kind: file, path: out}]}
  - {name: raised-to-4, match: {advisory_change: [raised, lowered], min_level: 4}, deliver: [{kind: file, path: out}]}
  - {name: any-official, match: {advisory_change: [any], min_severity: none}, deliver: [{kind: file, path: out}]}
""")
    matcher = compile_rules(config)

    def item(item_id: str, level: int | None, change: str | None) -> ItemFacts:
        return ItemFacts(item_id, "us", frozenset({"AZ"}), frozenset(), 4 if level == 4 else 3, NOW, "", level, change)

    found = matcher.match([item("up4", 4, "raised"), item("down3", 3, "lowered"), item("same", 3, None),
                           item("news", None, None)])
    assert [m.item_id for m in found["raised"]] == ["up4"]
    assert [m.item_id for m in found["raised-to-4"]] == ["up4"]
    assert [m.item_id for m in found["any-official"]] == ["up4", "down3", "same"]


def test_unknown_advisory_change_value_is_a_located_config_error():
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        parse_config("sources: [{name: us, kind: us-state-dept}]\nalerts:\n"
                     "  - {name: a, match: {advisory_change: [up]}, deliver: [{kind: file, path: out}]}\n")
    assert "advisory_change[0]" in str(caught.value)
