"""Ingest into a real SQLite file: versions, duplicates, failures and backoff."""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import parse_config
from monitor.service.pipeline import Pipeline
from monitor.store import Store

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _setup(tmp_path: Path, extra_sources: str = "", database: str | None = None) -> tuple[Pipeline, Path]:
    articles = tmp_path / "articles"
    articles.mkdir()
    for seed in SEEDS.glob("*.txt"):
        shutil.copy(seed, articles)
    database = database or f"sqlite:///{tmp_path}/m.db"
    config = parse_config(
        f"database: {database}\nsources:\n  - {{name: articles, kind: files, path: {articles}}}\n"
        + extra_sources, str(tmp_path / "c.yaml"), base=tmp_path)
    return Pipeline(config, Store.open(config.database), clock=lambda: NOW), articles


def _ingest(pipeline: Pipeline) -> dict[str, object]:
    return {r.name: r for r in asyncio.run(pipeline.ingest())}


def test_first_poll_stores_then_rerun_changes_nothing(tmp_path: Path, database_url: str) -> None:
    pipeline, _ = _setup(tmp_path, database=database_url)
    first = _ingest(pipeline)["articles"]
    assert first.counts.new == 2  # type: ignore[attr-defined]
    again = _ingest(pipeline)["articles"]
    assert (again.counts.new, again.counts.unchanged) == (0, 2)  # type: ignore[attr-defined]
    assert pipeline.store.count_items() == 2
    pipeline.close()
    pipeline.store.close()


def test_changed_file_is_a_new_version_of_the_same_item(tmp_path: Path, database_url: str) -> None:
    pipeline, articles = _setup(tmp_path, database=database_url)
    _ingest(pipeline)
    target = articles / "002_9a1e7f0ded39d068.txt"
    target.write_text(target.read_text(encoding="utf-8").replace("September 19", "September 20"), encoding="utf-8")
    report = _ingest(pipeline)["articles"]
    assert (report.counts.new, report.counts.changed) == (0, 1)  # type: ignore[attr-defined]
    items = pipeline.store.list_items()
    assert len(items) == 2
    changed = next(i for i in items if i.guid == "002_9a1e7f0ded39d068.txt")
    assert changed.version == 2 and "September 20" in changed.text
    pipeline.close()
    pipeline.store.close()


def test_syndicated_copy_and_renamed_file_are_duplicates(tmp_path: Path, database_url: str) -> None:
    pipeline, articles = _setup(tmp_path, database=database_url)
    _ingest(pipeline)
    seed = (articles / "000_16083772c90dda59.txt").read_text(encoding="utf-8")
    (articles / "syndicated.txt").write_text(seed.replace("Most Popular", "Trending now"), encoding="utf-8")
    shutil.copy(articles / "002_9a1e7f0ded39d068.txt", articles / "renamed.txt")
    report = _ingest(pipeline)["articles"]
    assert (report.counts.new, report.counts.duplicates) == (0, 2)  # type: ignore[attr-defined]
    original = next(i for i in pipeline.store.list_items() if i.guid == "000_16083772c90dda59.txt")
    assert [d.id for d in pipeline.store.duplicates_of(original.id)]
    # Seen again: still recorded once, nothing new.
    report = _ingest(pipeline)["articles"]
    assert report.counts.new == 0 and pipeline.store.count_items() == 2  # type: ignore[attr-defined]
    pipeline.close()
    pipeline.store.close()


def test_a_broken_source_fails_alone_and_backs_off(tmp_path: Path) -> None:
    pipeline, _ = _setup(tmp_path, f"  - {{name: broken, kind: files, path: {tmp_path}/missing, every: 2s}}\n")
    reports = _ingest(pipeline)
    assert reports["articles"].ok and reports["articles"].counts.new == 2  # type: ignore[attr-defined]
    assert not reports["broken"].ok and "does not exist" in reports["broken"].error  # type: ignore[attr-defined]
    state = pipeline.store.source_state("broken")
    assert state.consecutive_failures == 1 and state.last_error and state.next_due
    assert timedelta(seconds=27) <= state.next_due - NOW <= timedelta(seconds=33)
    _ingest(pipeline)
    state = pipeline.store.source_state("broken")
    assert state.consecutive_failures == 2 and state.next_due
    assert timedelta(seconds=54) <= state.next_due - NOW <= timedelta(seconds=66)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_a_failing_source_is_polled_again_at_its_stored_next_poll_and_a_success_resets(tmp_path: Path) -> None:
    clock = Clock(NOW)
    config = parse_config(f"database: sqlite:///{tmp_path}/m.db\nsources:\n"
                          f"  - {{name: flaky, kind: files, path: {tmp_path}/later, every: 2s}}\n",
                          str(tmp_path / "c.yaml"), base=tmp_path)
    pipeline = Pipeline(config, Store.open(config.database), clock=clock)

    def poll() -> tuple[object, object]:
        [report] = asyncio.run(pipeline.ingest(only_due=True))
        return report, pipeline.store.source_state("flaky")

    report, state = poll()
    assert not report.ok and state.consecutive_failures == 1  # type: ignore[attr-defined]
    # What the daemon schedules by is what was stored (and what `status` shows).
    assert report.next_poll == state.next_due  # type: ignore[attr-defined]
    first = state.next_due  # type: ignore[attr-defined]
    assert timedelta(seconds=27) <= first - NOW <= timedelta(seconds=33)  # 30 s, not the source's 2 s
    clock.now = NOW + timedelta(seconds=20)  # ten of its intervals later, still backing off
    report, state = poll()
    assert report.skipped == "not due" and report.next_poll == first  # type: ignore[attr-defined]
    assert state.consecutive_failures == 1  # type: ignore[attr-defined]
    clock.now = first
    report, state = poll()
    assert state.consecutive_failures == 2 and report.next_poll == state.next_due  # type: ignore[attr-defined]
    assert timedelta(seconds=54) <= state.next_due - first <= timedelta(seconds=66)  # type: ignore[attr-defined]
    (tmp_path / "later").mkdir()
    clock.now = state.next_due  # type: ignore[attr-defined]
    report, state = poll()
    assert report.ok and state.consecutive_failures == 0  # type: ignore[attr-defined]
    assert timedelta(seconds=2) <= state.next_due - clock.now <= timedelta(seconds=2.2)  # type: ignore[attr-defined]
    pipeline.close()
    pipeline.store.close()


def test_identical_text_on_another_day_is_another_event_but_a_same_day_copy_is_not(tmp_path: Path) -> None:
    from monitor.models import RawEntry
    from monitor.sources.ingest import plan_poll
    from monitor.store import SourceState
    from monitor.store.dedup import NearDuplicateIndex

    store = Store.open(f"sqlite:///{tmp_path}/m.db")
    index = NearDuplicateIndex()
    body = "Drought is on going in China. The alert level is Green for this event."

    def poll(source: str, guid: str, day: int) -> tuple[int, int]:
        entry = RawEntry(source=source, guid=guid, title="Drought in China", body=body,
                         published=datetime(2019, 12, day, tzinfo=UTC))
        write, counts = plan_poll(store, index, [entry], SourceState(name=source), None, NOW)
        store.write_poll(write)
        return counts.new, counts.duplicates

    assert poll("gdacs-a", "DR1", 1) == (1, 0)
    assert poll("gdacs-b", "DR1-copy", 2) == (0, 1)  # the same report syndicated a day later
    assert poll("gdacs-b", "DR2", 28) == (1, 0)  # the same words four weeks on: a new event


def test_near_duplicate_index_is_kept_in_the_store_and_filled_for_older_databases(tmp_path: Path) -> None:
    import sqlite3

    pipeline, articles = _setup(tmp_path)
    _ingest(pipeline)
    # A database from before the index was stored: no keys; the first pipeline on it files its items.
    with sqlite3.connect(tmp_path / "m.db") as conn:
        conn.execute("DELETE FROM dedup_keys")
    restarted = Pipeline(pipeline.config, pipeline.store, clock=lambda: NOW)
    seed = (articles / "000_16083772c90dda59.txt").read_text(encoding="utf-8")
    (articles / "syndicated.txt").write_text(seed.replace("Most Popular", "Trending now"), encoding="utf-8")
    report = _ingest(restarted)["articles"]
    assert (report.counts.new, report.counts.duplicates) == (0, 1)  # type: ignore[attr-defined]
    assert pipeline.store.dedup_keys_count() > 0


def test_a_failing_feeds_credentials_are_neither_reported_nor_stored(tmp_path: Path) -> None:
    from tests.ports import free_port

    url = f"http://fuser:CANARYPASS@127.0.0.1:{free_port()}/feed.xml?token=CANARYTOKEN"
    pipeline, _ = _setup(tmp_path, f"  - {{name: locked, kind: feed, url: '{url}'}}\n")
    report = _ingest(pipeline)["locked"]
    assert not report.ok and "could not connect" in (report.error or "")
    assert "CANARY" not in (report.error or "") and "CANARY" not in report.summary()
    assert "CANARY" not in (pipeline.store.source_state("locked").last_error or "")
    assert b"CANARY" not in b"".join(p.read_bytes() for p in tmp_path.glob("m.db*"))
