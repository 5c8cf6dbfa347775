"""Classification in a worker process: the engine's own answers come back; an item still running
after its budget is given up by killing the worker, logged with its id, source and title, and the
items after it go on; closing ends a stuck classification at once; the pipeline skips what was
given up instead of trying it for ever."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.classify import Engine, load_engine
from monitor.classify.engine import classify_served
from monitor.config.loading import parse_config
from monitor.models import Classification, Item
from monitor.service.classifying import Classifier
from monitor.service.pipeline import Pipeline
from monitor.store import Store

NOW = datetime(2025, 3, 1, tzinfo=UTC)
# Budget for one short item in the tests: a thousand times what it takes, on a loaded machine too.
BUDGET = 5.0


def classify_or_stick(version: str, title: str, text: str) -> Classification:
    """The worker's real classification, except for titles starting STUCK: those run Python's re on
    a catastrophic pattern (2**64 steps, the GIL held throughout), which never ends."""
    if title.startswith("STUCK"):
        re.match(r"(a+)+$", "a" * 64 + "!")
    return classify_served(version, title, text)


def _item(n: int, title: str, text: str) -> Item:
    return Item(id=f"item-{n}", source="news", title=title, text=text, first_seen=NOW, content_hash=f"h{n}")


ITEMS = [
    _item(1, "Bomb attack kills five in Bamako, Mali", "A bomb exploded in Bamako on Monday, killing five people."),
    _item(2, "STUCK: floods in Sindh", "Rivers rose across Sindh, Pakistan."),
    _item(3, "Protesters clash with police in Yerevan", "Thousands marched in Yerevan, Armenia; police used tear gas."),
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, Path]:
    folder = tmp_path_factory.mktemp("cache") / "advisory-monitor"  # as under XDG_CACHE_HOME
    return load_engine(cache_dir=folder), folder


def test_the_worker_answers_as_the_engine_does(cache: tuple[Engine, Path]) -> None:
    engine, folder = cache
    classifier = Classifier([], engine.version, folder, budget=BUDGET)
    try:
        for item in (ITEMS[0], ITEMS[2]):
            assert classifier.classify(item) == engine.classify(item.title, item.text)
        assert classifier.abandoned == set()
    finally:
        classifier.close()


def test_a_stuck_item_is_given_up_by_name_and_the_rest_go_on(cache: tuple[Engine, Path],
                                                             caplog: pytest.LogCaptureFixture) -> None:
    engine, folder = cache
    classifier = Classifier([], engine.version, folder, budget=BUDGET, work=classify_or_stick)
    try:
        with caplog.at_level(logging.ERROR, logger="monitor.service.classifying"):
            answers = [classifier.classify(item) for item in ITEMS]
        assert answers[0] == engine.classify(ITEMS[0].title, ITEMS[0].text)
        assert answers[1] is None
        assert answers[2] == engine.classify(ITEMS[2].title, ITEMS[2].text)
        assert classifier.abandoned == {"item-2"}
        [line] = [r.getMessage() for r in caplog.records]
        assert line.startswith("classification of item item-2 (source news: 'STUCK: floods in Sindh') abandoned: "
                               "still running after 5 s (its worker was killed)")
    finally:
        classifier.close()


def test_closing_ends_a_stuck_classification_at_once(cache: tuple[Engine, Path]) -> None:
    engine, folder = cache
    classifier = Classifier([], engine.version, folder, budget=600, work=classify_or_stick)
    assert classifier.classify(ITEMS[0]) is not None  # the worker has started and loaded the engine
    answer: list[Classification | None] = []
    stuck = threading.Thread(target=lambda: answer.append(classifier.classify(ITEMS[1])))
    stuck.start()
    time.sleep(0.5)
    started = time.monotonic()
    classifier.close()
    stuck.join(30)
    assert not stuck.is_alive() and time.monotonic() - started < 30
    assert answer == [None] and classifier.abandoned == set()  # not the item's fault: not given up
    assert classifier.classify(ITEMS[2]) is None  # closed: nothing more is classified


def test_the_pipeline_skips_what_was_given_up(tmp_path: Path, cache: tuple[Engine, Path],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _engine, folder = cache
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder.parent))  # the pipeline loads its engine from there
    articles = tmp_path / "articles"
    articles.mkdir()
    for n, item in enumerate(ITEMS):
        (articles / f"{n}.txt").write_text(f"{item.title}\n\n{item.text}\n", encoding="utf-8")
    config = parse_config(f"database: sqlite:///{tmp_path}/monitor.db\n"
                          f"sources:\n  - {{name: news, kind: files, path: {articles}}}\n", str(tmp_path / "c.yaml"))
    store = Store.open(config.database)
    pipeline = Pipeline(config, store, clock=lambda: NOW)
    try:
        asyncio.run(pipeline.ingest())
        engine = pipeline.classification_engine()
        pipeline._classifier = Classifier([], engine.version, folder, budget=BUDGET, work=classify_or_stick)
        assert pipeline.classify_pending(batch=1) == 2
        left = store.unclassified(engine.version)
        assert [item.title for item in left] == [ITEMS[1].title]
        assert pipeline.classify_pending() == 0  # given up: not tried again, no new wait
        assert pipeline.classifier().abandoned == {left[0].id}
    finally:
        pipeline.close()
        store.close()
