"""GDACS preset: an event is one item, a new episode a new version of it; the real capture."""

from __future__ import annotations

from pathlib import Path

import pytest


def _item(episode: int, level: str, iso3: str = "PHL") -> str:
    return f"""<item><title>{level} tropical cyclone alert for NALGAE (episode {episode})</title>
<description>Tropical cyclone NALGAE, episode {episode}.</description>
<link>https://www.gdacs.org/report.aspx?eventtype=TC&amp;eventid=1000937</link>
<pubDate>Sat, 26 Nov 2022 0{episode}:00:00 GMT</pubDate><guid isPermaLink="false">TC1000937</guid>
<georss:point>14.5 121.0</georss:point>
<gdacs:eventtype>TC</gdacs:eventtype><gdacs:eventid>1000937</gdacs:eventid><gdacs:episodeid>{episode}</gdacs:episodeid>
<gdacs:alertlevel>{level}</gdacs:alertlevel><gdacs:iso3>{iso3}</gdacs:iso3><gdacs:country>Philippines</gdacs:country>
</item>"""


def _feed(*items: str) -> bytes:
    return ("""<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:gdacs="http://www.gdacs.org"
xmlns:georss="http://www.georss.org/georss"><channel><title>GDACS</title>""" + "".join(items)
            + "</channel></rss>").encode()


def test_an_event_keeps_its_latest_episode(http_server, preset, fetch):
    url = http_server.serve("/rss.xml", _feed(_item(3, "Orange"), _item(2, "Green")),
                            headers={"Content-Type": "application/rss+xml"})
    [entry] = fetch(preset("gdacs", url)).entries
    assert entry.guid == "TC1000937"
    assert entry.extra["gdacs_episodeid"] == "3"
    assert entry.extra["advisory"] == {"issuer": "gdacs-test", "country": "PH", "level": 3, "parts": True,
                                       "label": "Orange tropical cyclone alert", "scope": "event"}
    assert entry.points and entry.points[0].lat == 14.5


def test_a_new_episode_is_a_new_version_of_the_same_item(http_server, preset, fetch, tmp_path):
    import asyncio

    from monitor.config import parse_config
    from monitor.service.pipeline import Pipeline
    from monitor.store import Store

    url = http_server.serve("/rss.xml", _feed(_item(1, "Green")), headers={"Content-Type": "application/rss+xml"})
    config = parse_config(f'database: "sqlite:///{tmp_path}/m.db"\n'
                          f'sources:\n  - {{name: g, kind: gdacs, url: "{url}"}}\n')
    store = Store.open(config.database)
    pipeline = Pipeline(config, store)
    try:
        [first] = asyncio.run(pipeline.ingest())
        http_server.serve("/rss.xml", _feed(_item(2, "Red")), headers={"Content-Type": "application/rss+xml"})
        [second] = asyncio.run(pipeline.ingest())
        items = store.list_items(source="g")
    finally:
        pipeline.close()
        store.close()
    assert (first.counts.new, second.counts.new, second.counts.changed) == (1, 0, 1)
    [item] = items
    assert item.version == 2 and item.extra["advisory"]["level"] == 4


@pytest.mark.corpus
def test_real_capture_315_items(http_server, preset, fetch, corpus_dir: Path):
    data = (corpus_dir / "feeds" / "whatisc__up25__gdacs.xml").read_bytes()
    url = http_server.serve("/rss.xml", data, headers={"Content-Type": "application/rss+xml"})
    entries = fetch(preset("gdacs", url)).entries
    assert len(entries) == 315
    assert all(e.extra["advisory"]["level"] in (1, 3, 4) for e in entries)
    with_country = [e for e in entries if e.extra["advisory"]["country"]]
    assert len(with_country) >= 230
    sudan = [e for e in entries if e.extra.get("gdacs_iso3") == "SDN"]
    assert sudan and all(e.extra["advisory"]["country"] == "SD" for e in sudan)
