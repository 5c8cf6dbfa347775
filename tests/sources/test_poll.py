"""The source seam: every configured kind has a poller, chosen by ``kind``, meeting ``Source``."""

from __future__ import annotations

import asyncio
import typing
from pathlib import Path

from monitor.config import AnySource, parse_config
from monitor.models import PollResult
from monitor.official import OfficialPoller
from monitor.service.pipeline import source_for
from monitor.sources.feeds import make_client
from monitor.sources.poll import FeedPoller, FilesPoller, Source


def _kinds() -> set[str]:
    return {typing.get_args(model.model_fields["kind"].annotation)[0] for model in typing.get_args(AnySource)}


def test_every_source_kind_of_the_config_has_a_poller(tmp_path: Path) -> None:
    lines = "".join(f"  - {{name: s-{kind}, kind: {kind}, {'path' if kind == 'files' else 'url'}: {tmp_path}}}\n"
                    for kind in sorted(_kinds()))
    config = parse_config(f"sources:\n{lines}", str(tmp_path / "c.yaml"), base=tmp_path)
    pollers = {source.kind: source_for(source) for source in config.sources}
    assert set(pollers) == _kinds() and len(pollers) == 8
    assert isinstance(pollers["files"], FilesPoller) and isinstance(pollers["feed"], FeedPoller)
    official = {kind for kind, poller in pollers.items() if isinstance(poller, OfficialPoller)}
    assert official == _kinds() - {"files", "feed"}
    assert [kind for kind, poller in pollers.items() if not poller.fetched] == ["files"]
    assert official == {kind for kind, poller in pollers.items() if poller.tracks_levels}


def test_a_feed_polled_through_the_seam_follows_its_permanent_address(tmp_path: Path) -> None:
    old, new = tmp_path / "old.xml", tmp_path / "new.xml"
    new.write_text('<rss version="2.0"><channel><title>t</title><item><title>Moved here</title>'
                   '<guid>g1</guid></item></channel></rss>', encoding="utf-8")
    config = parse_config(f"sources:\n  - {{name: news, kind: feed, url: {old}}}\n", str(tmp_path / "c.yaml"),
                          base=tmp_path)
    poller: Source = source_for(config.sources[0])

    async def poll() -> PollResult:
        async with make_client() as client:
            return await poller.poll(client, etag=None, last_modified=None, moved_to=str(new))

    result = asyncio.run(poll())
    assert [e.title for e in result.entries] == ["Moved here"] and result.etag
