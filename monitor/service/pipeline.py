"""One cycle: poll sources, store, classify, match, enqueue and deliver digests.

Idempotent and safe to rerun. A failing source or delivery is reported and retried later; it
never fails the cycle.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from monitor.classify import Engine, load_engine
from monitor.classify.compiled import default_cache_dir
from monitor.config import AnySource, Config
from monitor.deliver import DigestClaims, DigestOutcome
from monitor.dispatch import Dispatcher
from monitor.errors import SourceError, StoreError
from monitor.incidents import Grouper
from monitor.models import Classification, Item, PollResult, RawEntry
from monitor.service.classifying import Classifier
from monitor.sources.cadence import next_poll
from monitor.sources.extract import Boilerplate, load_boilerplate
from monitor.sources.ingest import PollCounts, StoredIndex, index_keys, plan_poll
from monitor.sources.parsepool import ParsePool, cpu_workers
from monitor.store import Incidents, SourceState, Store
from monitor.support.redact import redact_text

if TYPE_CHECKING:
    import httpx

    from monitor.sources.poll import Source, SourceFactory

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
DEDUP_WINDOW = timedelta(days=30)
INDEX_PRUNE = timedelta(days=1)
POLL_CONCURRENCY = 32

T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SourceReport:
    name: str
    ok: bool = True
    skipped: str | None = None
    counts: PollCounts = field(default_factory=PollCounts)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    not_modified: bool = False
    # When the source is polled next, as stored with its state (None: never, a feed gone for good).
    next_poll: datetime | None = None

    def summary(self) -> str:
        if self.skipped:
            return f"{self.name}: skipped ({self.skipped})"
        if not self.ok:
            return f"{self.name}: FAILED: {self.error}"
        if self.not_modified:
            return f"{self.name}: not modified"
        c = self.counts
        text = f"{self.name}: {c.new} new, {c.changed} changed, {c.duplicates} duplicates, {c.unchanged} unchanged"
        if self.warnings:
            text += f", {len(self.warnings)} warning{'s' if len(self.warnings) > 1 else ''}"
        return text


@dataclass
class CycleReport:
    sources: list[SourceReport] = field(default_factory=list)
    classified: int = 0
    digests: list[DigestOutcome] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return sum(1 for s in self.sources if not s.ok)


@functools.cache
def _pollers() -> dict[str, SourceFactory]:
    # Imported on first poll: the official presets bring lxml and the feed parser along.
    from monitor.official import POLLERS as OFFICIAL_POLLERS
    from monitor.sources.poll import POLLERS

    return {**POLLERS, **OFFICIAL_POLLERS}


def source_for(config: AnySource) -> Source:
    """The poller of a configured source, chosen by its ``kind``."""
    return _pollers()[config.kind](config)


def indexed_regions(cls: Classification, ancestors: Callable[[str], set[str]]) -> list[str]:
    """Region ids an item is filed under: its primary regions and everything above them, so that
    `--region AZ` and an alert on `western-asia` find an item about Baku."""
    ids: dict[str, None] = {}
    for region in cls.regions:
        if region.role == "primary":
            ids[region.id] = None
            ids.update(dict.fromkeys(sorted(ancestors(region.id))))
    return list(ids)


class Pipeline:
    """Wires the stages together for one configuration and one store."""

    def __init__(self, config: Config, store: Store, *, clock: Clock = utcnow,
                 claims: DigestClaims | None = None) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        # monitor.service.workers.Coordinator where several workers share the database: digest sends are claimed.
        self.claims = claims
        self._boilerplate: Boilerplate | None = None
        self._engine: Engine | None = None
        self._dispatcher: Dispatcher | None = None
        self._index: StoredIndex | None = None
        self._index_pruned: datetime | None = None
        # Store writes, dedup and classification run on one worker thread: the event loop stays
        # free for fetches and the health endpoint, and writes never race each other. The thread
        # hands each item's classification to a worker process (``classifier``), which can be killed.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitor-store")
        self._parse_pool: ParsePool | None = None
        self._classifier: Classifier | None = None
        self._grouper: Grouper | None = None

    async def in_worker(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking store/CPU work on the pipeline's single worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)

    def parse_pool(self) -> ParsePool:
        """Worker processes for parsing untrusted feeds (started on first use)."""
        if self._parse_pool is None:
            self._parse_pool = ParsePool(cpu_workers())
        return self._parse_pool

    def stop_classifying(self) -> None:
        """End the classifier's worker now (from any thread); the items not yet classified stay
        pending, and ``classify_pending`` returns."""
        if self._classifier is not None:
            self._classifier.close()

    def close(self) -> None:
        if self._parse_pool is not None:
            self._parse_pool.close()
        # First: an item being classified would otherwise hold up the worker thread, and this.
        self.stop_classifying()
        self._worker.shutdown(wait=True)

    def dedup_index(self) -> StoredIndex | None:
        """The near-duplicate index (kept in the store); keys older than DEDUP_WINDOW are dropped
        once a day, and a database from before the index was stored has its items filed once."""
        if not self.config.dedup.enabled:
            return None
        now = self.clock()
        if self._index is None:
            if self.store.dedup_keys_count() == 0:
                self.store.add_dedup_keys((c.item_id, key, seen) for c, seen in self.store.dedup_candidates(
                    now - DEDUP_WINDOW, with_first_seen=True) for key in index_keys(c.fp))
            self._index = StoredIndex(self.store, self.config.dedup.threshold, lambda: self.clock() - DEDUP_WINDOW)
        if self._index_pruned is None or now - self._index_pruned > INDEX_PRUNE:
            self.store.forget_dedup_keys(now - DEDUP_WINDOW)
            self._index_pruned = now
        return self._index

    @property
    def boilerplate(self) -> Boilerplate:
        if self._boilerplate is None:
            self._boilerplate = load_boilerplate(self.config.rules)
        return self._boilerplate

    # -- ingest --------------------------------------------------------------------------------
    async def ingest(self, names: Sequence[str] | None = None, *, only_due: bool = False,
                     client: httpx.AsyncClient | None = None) -> list[SourceReport]:
        """Poll the enabled sources (all of them, the named ones, or the due ones) and store what
        they bring. ``client``: an HTTP client the caller keeps (the daemon keeps one for its
        life: making one costs more than a poll); without it one is made for this call."""
        now = self.clock()
        sources = [s for s in self.config.sources if s.enabled and (names is None or s.name in names)]
        states = await self.in_worker(self.store.source_states, None if names is None else list(names))
        semaphore = asyncio.Semaphore(POLL_CONCURRENCY)
        own_client = None
        if client is None and any(source_for(s).fetched for s in sources):
            from monitor.sources.feeds import make_client

            client = own_client = make_client()
        try:
            async def one(source: AnySource) -> tuple[AnySource, SourceReport, PollResult | None]:
                state = states.get(source.name) or SourceState(name=source.name)
                if state.gone:
                    return source, SourceReport(source.name, skipped="the server said the feed is gone (410)"), None
                if only_due and state.next_due and state.next_due > now:
                    return source, SourceReport(source.name, skipped="not due", next_poll=state.next_due), None
                async with semaphore:
                    return source, *await self._fetch(source, state, client)

            fetched = await asyncio.gather(*(one(s) for s in sources))
        finally:
            if own_client is not None:
                await own_client.aclose()
        reports = []
        # Writes happen one source at a time, each in its own transaction.
        for source, report, outcome in fetched:
            if outcome is not None:
                state = states.get(source.name) or SourceState(name=source.name)
                await self.in_worker(self._store_poll, source, report, outcome, state)
            reports.append(report)
        return reports

    async def _fetch(self, source: AnySource, state: SourceState,
                     client: httpx.AsyncClient | None) -> tuple[SourceReport, PollResult | None]:
        report = SourceReport(source.name)
        try:
            poller = source_for(source)
            if poller.fetched:
                from monitor.sources.parsepool import CURRENT_POOL

                CURRENT_POOL.set(self.parse_pool())
            result = await poller.poll(client, etag=state.etag, last_modified=state.last_modified,
                                       moved_to=state.permanent_url)
        except SourceError as exc:
            message = f"{exc.reason} (hint: {exc.hint})" if exc.hint else exc.reason
            return await self.in_worker(self._failed, source, state, report, message), None
        except Exception as exc:  # a fetch's bug, traceback logged: one broken source never stops the others
            log.exception("unexpected error polling source %s", source.name)
            message = f"unexpected error: {exc.__class__.__name__}: {exc}"
            return await self.in_worker(self._failed, source, state, report, message), None
        report.warnings = list(result.warnings)
        report.not_modified = result.not_modified
        return report, result

    def _failed(self, source: AnySource, state: SourceState, report: SourceReport,
                message: str) -> SourceReport:
        now = self.clock()
        # The one place every source kind's failure is recorded: a URL in it keeps no credentials,
        # whether it is shown by `status`, stored or printed.
        message = redact_text(message)
        state.last_attempt = now
        state.consecutive_failures += 1
        state.last_error = message
        state.next_due = report.next_poll = next_poll(now, source.every, state.consecutive_failures)
        try:
            self.store.save_source_state(state)
        except StoreError as exc:  # the failure is still reported; the next poll records its own
            log.error("could not record failure of %s: %s", source.name, exc)
        report.ok = False
        report.error = message
        return report

    def _store_poll(self, source: AnySource, report: SourceReport, result: PollResult,
                    state: SourceState) -> None:
        # ``state`` is the row read before the fetch: a source is never polled twice at once, and
        # only its own poll writes its row.
        now = self.clock()
        state.last_attempt = now
        state.last_success = now
        state.consecutive_failures = 0
        state.last_error = None
        state.next_due = next_poll(now, source.every, 0)
        poller = source_for(source)
        if poller.fetched:
            if result.etag or result.last_modified or not result.not_modified:
                state.etag = result.etag
                state.last_modified = result.last_modified
            if result.permanent_url:
                state.permanent_url = result.permanent_url
            state.gone = bool(result.gone)
        entries: list[RawEntry] = [] if report.not_modified else list(result.entries)
        levels = None
        if poller.tracks_levels and entries:
            from monitor.official.changes import plan_levels
            from monitor.store import AdvisoryLevels

            # Level changes become items of this source, written in the poll's own transaction.
            changes, levels = plan_levels(AdvisoryLevels(self.store).current(source.name), entries, now,
                                          source_kind=source.kind)
            entries.extend(changes)
        write, counts = plan_poll(self.store, self.dedup_index(), entries, state, self.boilerplate, now,
                                  self.config.dedup.shingle_words)
        write.levels = levels
        try:
            self.store.write_poll(write)
        except StoreError:
            # The index already holds this poll's items; rebuild it from what was really stored.
            self._index = None
            raise
        report.counts = counts
        report.next_poll = state.next_due
        for warning in report.warnings:
            log.warning("source %s: %s", source.name, warning)

    # -- classify ------------------------------------------------------------------------------
    def classification_engine(self) -> Engine:
        if self._engine is None:
            self._engine = load_engine(self.config.rules)
            _settle_heap()
        return self._engine

    def classifier(self) -> Classifier:
        """The worker process that classifies items (started on first use), for this pipeline's rules."""
        if self._classifier is None:
            self._classifier = Classifier(self.config.rules, self.classification_engine().version,
                                          default_cache_dir())
        return self._classifier

    def classify_pending(self, batch: int = 500) -> int:
        """Classify stored items that have no classification under the current rules. An item the
        classifier gives up (over its time budget, or failing) stays unclassified and is skipped."""
        engine = self.classification_engine()
        classifier = self.classifier()
        total = 0
        while not classifier.closed:
            skipped = classifier.abandoned
            pending = [item for item in self.store.unclassified(engine.version, limit=batch + len(skipped))
                       if item.id not in skipped]
            if not pending:
                break
            results = []
            grouping: list[tuple[Item, Classification]] = []
            for item in pending:
                found = classifier.classify(item)
                if found is None:
                    continue
                cls = found.model_copy(
                    update={"item_id": item.id, "source": item.source, "rules_version": engine.version})
                if item.extra.advisory is not None:
                    # Official items: the issuer's country and level beat what the text suggests.
                    from monitor.official.changes import apply_official

                    cls = apply_official(cls, item.extra.advisory)
                results.append((cls, indexed_regions(cls, engine.ancestors)))
                grouping.append((item, cls))
            total += self.store.save_classifications(results, only_pending=True)
            # Right after saving, on the same thread: grouping is its own serialised transaction, so
            # workers classifying at once take turns here (monitor/store/incidents.py).
            self.grouper().group(grouping)
        return total

    def grouper(self) -> Grouper:
        if self._grouper is None:
            self._grouper = Grouper(Incidents(self.store), self.config.incidents, clock=self.clock)
        return self._grouper

    # -- one cycle -----------------------------------------------------------------------------
    def dispatcher(self) -> Dispatcher:
        """Alert matching and the outbox (monitor.dispatch.dispatcher); checks the alert rules on creation."""
        if self._dispatcher is None:
            self._dispatcher = Dispatcher(self.config, self.store, engine=self.classification_engine(),
                                          clock=self.clock, claims=self.claims)
            _settle_heap()
        return self._dispatcher

    def validate(self) -> None:
        """Load the rules and check the alert rules against them; raises the located errors."""
        load_boilerplate(self.config.rules)
        self.dispatcher()

    async def dispatch(self, *, force: bool = False) -> list[DigestOutcome]:
        """Claim the due digests (on the worker thread: it reads and matches), then deliver."""
        # The first call loads the rules and compiles the alert rules: seconds, never on the loop.
        dispatcher = await self.in_worker(self.dispatcher)
        outcomes, notes = await self.in_worker(lambda: dispatcher.claim_due(force=force))
        await dispatcher.deliver_due(outcomes, force=force)
        return [*outcomes.values(), *notes]

    def outbox_pending(self) -> int:
        """Deliveries waiting to be sent (new or retrying)."""
        return int(self.dispatcher().outbox.pending_count())

    async def run_once(self, *, force: bool = True) -> CycleReport:
        """Ingest, classify, then dispatch: every waiting digest and failed delivery now (``force``,
        the ``once`` command), or only what is due by schedule and backoff (``once --due``)."""
        report = CycleReport()
        # Made first so that an unknown region in an alert rule stops the cycle before any work.
        self.dispatcher()
        report.sources = await self.ingest()
        report.classified = await self.in_worker(self.classify_pending)
        report.digests = await self.dispatch(force=force)
        return report


def _settle_heap() -> None:
    """Exempt what was just built to last (the engine's gazetteer and automaton, the compiled alert
    rules: hundreds of thousands of objects) from the cyclic collector's full passes: each pass
    walked all of it again, and item-heavy work (matching thousands of site and trip pairs) set
    one off every few hundred milliseconds (bench/geo.py: a full pass cost more than matching
    10,000 items). A reload builds anew and settles again, thawing first so that what the last
    build left behind (an engine replaced by a reload) can still be collected."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
