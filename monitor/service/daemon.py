"""The daemon: APScheduler wiring (the only module that imports it), signals, reload, health.

Each source is polled when its state in the store says it is due (``next_due``: its ``every:``
after a success, max(every, backoff) after a failure; monitor/sources/cadence.py), never twice at
once, missed runs coalesced: after each poll its job is moved to that stored time, which is also
what ``status`` and ``/healthz`` show. Among PostgreSQL workers a worker first waits one heartbeat
for the workers starting with it to register, then polls only the sources dealt to it. After a
poll that stored something, the new items are classified and the digests that are due
(``immediate`` alerts at once) are delivered. A dispatch tick also runs every few seconds
for scheduled digests and retries. SIGTERM/SIGINT stop cleanly; SIGHUP, or a change on disk to
the config or a rules file, reloads after validating (a bad config keeps the last good one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Coroutine, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import AnySource, Config, WebhookTarget, load_config
from monitor.errors import MonitorError, StoreError
from monitor.service.health import HealthServer
from monitor.service.lock import lock_for
from monitor.service.metrics import Metrics
from monitor.service.pipeline import Pipeline, SourceReport
from monitor.store import Store
from monitor.store.dialects import divides_by_leases, sqlite_path
from monitor.support.resources import shipped_rules_dir

log = logging.getLogger(__name__)

DISPATCH_EVERY = timedelta(seconds=2)
WATCH_EVERY = 2.0
STOP_GRACE = 8.0


def _watched_files(config_path: Path, config: Config) -> list[Path]:
    files = [config_path]
    for folder in [shipped_rules_dir(), *config.rules]:
        if Path(folder).is_dir():
            files.extend(sorted(Path(folder).rglob("*.yaml")))
    if config.travel is not None and config.travel.folder is not None and config.travel.folder.is_dir():
        files.extend(sorted(config.travel.folder.iterdir()))  # a trip added, edited or removed reloads
    # A template edited reloads too: an alert held because its template failed tries again at once.
    files.extend(_template_files(config))
    return files


def _template_files(config: Config) -> list[Path]:
    places: list[Path | None] = [config.templates]
    for alert in config.alerts:
        places.append(alert.template)
        places.extend(t.template for t in alert.deliver if isinstance(t, WebhookTarget))
    files: dict[Path, None] = {}
    for place in places:
        if place is None:
            continue
        # A folder's files (those there now: a new one changes the folder's own mtime); a file
        # that does not exist yet is watched all the same, so creating it reloads.
        found = sorted(p for p in place.iterdir() if p.is_file()) if place.is_dir() else [place]
        files.update(dict.fromkeys([place, *found]))
    return list(files)


def _stamp(files: Iterable[Path]) -> tuple[tuple[str, float, int], ...]:
    out = []
    for f in files:
        try:
            st = f.stat()
            out.append((str(f), st.st_mtime, st.st_size))
        except OSError:
            out.append((str(f), 0.0, -1))
    return tuple(out)


def _first_line(exc: BaseException) -> str:
    """An error in one log line (a driver's message runs over several)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


async def _logged(work: Coroutine[Any, Any, None], what: str) -> None:
    """Run ``work`` outside the scheduler (which logs what its jobs raise): a bug is logged with its
    traceback here instead of waiting, unseen, in a task nobody awaits."""
    try:
        await work
    except Exception:
        log.exception("%s failed unexpectedly", what)


class Daemon:
    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self.config = load_config(config_path)
        self.metrics = Metrics()
        self.store: Store | None = None
        self.pipeline: Pipeline | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.health: HealthServer | None = None
        self._stop = asyncio.Event()
        self._busy: set[asyncio.Task[Any]] = set()
        self._dispatch_lock = asyncio.Lock()
        self._dispatch_queued = False
        self._client: Any = None  # one HTTP client for the daemon's life (connection reuse, one TLS setup)
        self._stamp: tuple[tuple[str, float, int], ...] = ()
        self._last_poll: dict[str, datetime] = {}
        # Each source's next poll as last read from or written to its stored state: /healthz's answer.
        self._next_poll: dict[str, datetime] = {}
        # Set once the group of PostgreSQL workers is settled (a heartbeat after registering): no
        # source is claimed from a view taken before the workers starting alongside had registered.
        self._settled = asyncio.Event()
        self.coordinator: Any = None  # monitor.service.workers.Coordinator when several workers share PostgreSQL

    # -- lifecycle -----------------------------------------------------------------------------
    def run(self) -> int:
        lock = lock_for(sqlite_path(self.config.database))
        if lock is not None:
            lock.acquire()
        try:
            return asyncio.run(self._main())
        finally:
            if lock is not None:
                lock.release()

    async def _main(self) -> int:
        self.store = Store.open(self.config.database)
        beats = None
        if divides_by_leases(self.config.database):
            from monitor.service.workers import Coordinator

            self.coordinator = Coordinator(self.store, self.config.workers.lease, self.metrics)
            await asyncio.to_thread(self.coordinator.start)
            beats = asyncio.create_task(self._beat())
        self.pipeline = Pipeline(self.config, self.store, claims=self.coordinator)
        from monitor.sources.feeds import make_client

        self._client = make_client()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: self._spawn(_logged(self.reload("SIGHUP"), "reload")))
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._schedule()
        self.scheduler.start()
        if self.config.server is not None:
            self.health = HealthServer(self.config.server.host, self.config.server.port, self.health_state,
                                       self.metrics.render)
            await self.health.start()
        self._stamp = _stamp(_watched_files(self.config_path, self.config))
        watcher = asyncio.create_task(self._watch())
        log.info("advisory-monitor running (pid %s): %d sources, %d alerts", os.getpid(),
                 len([s for s in self.config.sources if s.enabled]), len(self.config.alerts))
        # Catch up at start: deliveries left pending by a crash go out now.
        self._spawn(_logged(self.dispatch("start"), "dispatch at start"))
        await self._stop.wait()
        log.info("stopping")
        watcher.cancel()
        if beats is not None:
            beats.cancel()
        await self._shutdown()
        return 0

    async def _beat(self) -> None:
        """Heartbeat and lease renewal; a database that went away is retried with backoff, and
        this worker's claims lapse meanwhile, so the others (if they can reach it) take over."""
        assert self.coordinator is not None
        delay = self.coordinator.beat_every
        while True:
            await asyncio.sleep(delay)
            try:
                await asyncio.to_thread(self.coordinator.beat)
                delay = self.coordinator.beat_every
                if self.coordinator.settled:
                    self._settled.set()
            except StoreError as exc:  # the database restarting: log, back off, carry on
                delay = min(delay * 2, 30.0)
                log.warning("heartbeat failed, retrying in %.0fs: %s", delay, _first_line(exc))
            except Exception:
                # A bug. This loop is no scheduler job: if it ended, this worker would stop beating
                # and renewing its leases for good while still polling. Log the traceback, go on.
                delay = min(delay * 2, 30.0)
                log.exception("heartbeat failed unexpectedly, retrying in %.0fs", delay)

    async def _shutdown(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self.health is not None:
            await self.health.stop()
        if self.pipeline is not None:
            # Classifying gets no grace: what is cut off is classified again at the next start, and
            # an item stuck in the classifier must not hold up the work behind it on the store thread.
            self.pipeline.stop_classifying()
        # In-flight work gets a grace period; what is cut off is resent from the outbox next start.
        pending = [t for t in self._busy if not t.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=STOP_GRACE)
            if late:
                log.warning("%d task(s) still running %.0fs after the stop: cut off (a send cut off is "
                            "logged as abandoned and sent again next run)", len(late), STOP_GRACE)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=1.0)
        if self._client is not None:
            await self._client.aclose()
        if self.pipeline is not None:
            self.pipeline.close()
        try:
            if self.coordinator is not None:
                try:
                    await asyncio.to_thread(self.coordinator.stop)
                except StoreError as exc:  # the database is gone: the claims lapse on their own
                    log.warning("could not release this worker's claims: %s", _first_line(exc))
                # Anything else is a bug: it propagates (the daemon is stopping anyway, and its exit
                # shows the traceback) once the store is closed.
        finally:
            if self.store is not None:
                self.store.close()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._busy.add(task)
        task.add_done_callback(self._busy.discard)
        return task

    # -- scheduling ----------------------------------------------------------------------------
    def _schedule(self) -> None:
        """A job per enabled source, first run at once (among workers: once their view has
        settled); that run polls only a source that is due by its stored next poll and moves the
        job there (a source backing off stays backed off across restarts and reloads)."""
        assert self.scheduler is not None
        self.scheduler.remove_all_jobs()
        now = datetime.now(UTC)
        first = now
        if self.coordinator is not None and not self.coordinator.settled:
            # Not before the workers' view has settled (a heartbeat after registering); a job that
            # still comes early waits for it (``_until_settled``).
            first = now + timedelta(seconds=self.coordinator.beat_every)
        for source in self.config.sources:
            if not source.enabled:
                continue
            # Each run moves the job to the stored next poll (``_plan``); the interval is only the
            # fallback when that time is unknown (the database away), and a run that comes early
            # polls nothing: the pipeline skips a source whose stored time has not come.
            self.scheduler.add_job(
                self._poll_job, IntervalTrigger(seconds=max(source.every.total_seconds(), 1)),
                args=[source.name], id=f"poll:{source.name}", name=f"poll {source.name}",
                max_instances=1, coalesce=True, misfire_grace_time=None, next_run_time=first,
                replace_existing=True)
        self.scheduler.add_job(self._dispatch_job, IntervalTrigger(seconds=DISPATCH_EVERY.total_seconds()),
                               id="dispatch", name="dispatch", max_instances=1, coalesce=True,
                               misfire_grace_time=None, replace_existing=True)

    def _plan(self, source: AnySource, when: datetime | None) -> None:
        """Move the source's job to ``when``, its stored next poll; unknown or past, one ``every`` on."""
        if when is not None:
            self._next_poll[source.name] = when
        now = datetime.now(UTC)
        run_at = when if when is not None and when > now else now + source.every
        if self.scheduler is None or self._stop.is_set():
            return
        with contextlib.suppress(JobLookupError):  # removed by a reload meanwhile: the new job plans itself
            self.scheduler.modify_job(f"poll:{source.name}", next_run_time=run_at)

    async def _poll_job(self, name: str) -> None:
        await self._track(self.poll(name))

    async def _dispatch_job(self) -> None:
        await self._track(self.dispatch("tick"))

    async def _track(self, coro: Any) -> None:
        task = self._spawn(coro)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)

    async def _until_settled(self) -> bool:
        """Wait until the workers' view is settled (at once after the first heartbeat); False when
        the daemon stops first."""
        if self._settled.is_set():
            return True
        waits = [asyncio.ensure_future(self._settled.wait()), asyncio.ensure_future(self._stop.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        return not self._stop.is_set()

    # -- work ----------------------------------------------------------------------------------
    async def poll(self, name: str) -> None:
        """Poll a source if it is due (and, among workers, dealt to this one and claimed), then move
        its job to the next poll stored with its state."""
        if self.pipeline is None or self._stop.is_set():
            return
        if self.coordinator is not None and not await self._until_settled():
            return
        source = next((s for s in self.config.sources if s.enabled and s.name == name), None)
        if source is None:
            return
        when: datetime | None = None
        try:
            when = await self._poll_due(source)
        finally:
            self._plan(source, when)

    async def _poll_due(self, source: AnySource) -> datetime | None:
        """Poll the source unless it is not due or another worker's; its stored next poll."""
        pipeline = self.pipeline
        assert pipeline is not None
        name = source.name
        coordinator = self.coordinator
        if coordinator is not None and not await self._claim(source):
            return await self._stored_next_poll(name)
        # Only the database's errors are expected here and below; a bug propagates to the scheduler,
        # which logs its traceback and runs this job again at its interval.
        try:
            reports = await pipeline.ingest([name], only_due=True, client=self._client)
        except StoreError as exc:  # the database went away mid-poll: the next run tries again
            log.error("poll of %s failed: %s", name, _first_line(exc))
            self.metrics.source_failures.labels(name).inc()
            return None
        except MonitorError as exc:
            log.error("poll of %s failed: %s", name, exc)
            self.metrics.source_failures.labels(name).inc()
            return None
        finally:
            if coordinator is not None:
                with contextlib.suppress(StoreError):  # unreleased, the lease lapses on its own
                    await asyncio.to_thread(coordinator.release_source, name)
        if self._record(reports):
            await self.classify_and_dispatch()
        return next((r.next_poll for r in reports if r.name == name), None)

    async def _claim(self, source: AnySource) -> bool:
        """Whether this worker polls the source now: dealt to it, and its lease taken."""
        coordinator = self.coordinator
        assert coordinator is not None
        enabled = [s.name for s in self.config.sources if s.enabled]
        if not coordinator.mine(source.name, enabled):
            return False
        try:
            return bool(await asyncio.to_thread(coordinator.claim_source, source.name, source.every))
        except StoreError as exc:  # the database is away: the next run tries again
            log.warning("could not claim source %s: %s", source.name, _first_line(exc))
            return False

    async def _stored_next_poll(self, name: str) -> datetime | None:
        """The next poll stored for a source another worker polls (None: unknown)."""
        pipeline = self.pipeline
        assert pipeline is not None
        try:
            states = await pipeline.in_worker(pipeline.store.source_states, [name])
        except StoreError:
            return None
        state = states.get(name)
        return state.next_due if state is not None else None

    def _record(self, reports: list[SourceReport]) -> int:
        """Count and log what the polls brought; how many items they stored or changed."""
        stored = 0
        for report in reports:
            if report.skipped:
                continue
            self.metrics.polls.labels(report.name).inc()
            if not report.ok:
                self.metrics.source_failures.labels(report.name).inc()
                log.warning("source %s failed: %s", report.name, report.error)
                continue
            self._last_poll[report.name] = datetime.now(UTC)
            stored += report.counts.new + report.counts.changed
            if report.counts.new:
                self.metrics.items_ingested.labels(report.name).inc(report.counts.new)
                log.info("%s", report.summary())
        return stored

    async def classify_and_dispatch(self) -> None:
        pipeline = self.pipeline
        if pipeline is None:
            return
        try:
            classified = await pipeline.in_worker(pipeline.classify_pending)
        except MonitorError as exc:  # the rules, or the database gone away (StoreError): the next poll retries
            # (A bug propagates to the scheduler job that polled, which logs its traceback.)
            log.error("classification failed, will retry: %s", _first_line(exc))
            return
        self.metrics.items_classified.inc(classified)
        await self.dispatch("new items")

    async def dispatch(self, reason: str) -> None:
        pipeline = self.pipeline
        if pipeline is None or self._stop.is_set():
            return
        if self._dispatch_queued:
            # A pass is already waiting for the lock; it starts after this caller's items were
            # classified, so it will take them too. Hundreds of polls a minute make one pass each.
            return
        self._dispatch_queued = True
        try:
            await self._dispatch_lock.acquire()
        finally:
            self._dispatch_queued = False
        try:
            pipeline = self.pipeline or pipeline  # a reload while waiting: the new config's pass
            try:
                outcomes = await pipeline.dispatch(force=False)
            except MonitorError as exc:  # the rules, or the database gone away (StoreError): the next tick retries
                # (A bug propagates: a scheduled tick's to the scheduler, the start's to _logged;
                # both log its traceback, and the next tick runs as usual.)
                log.error("dispatch (%s) failed, will retry: %s", reason, _first_line(exc))
                return
            for outcome in outcomes:
                self._count(outcome)
            with contextlib.suppress(StoreError):  # the gauge is refreshed by the next pass
                self.metrics.outbox_pending.set(await pipeline.in_worker(pipeline.outbox_pending))
        finally:
            self._dispatch_lock.release()

    def _count(self, outcome: Any) -> None:
        for result in outcome.results:
            if result.ok:
                self.metrics.digests_sent.labels(outcome.alert, result.kind).inc()
            else:
                self.metrics.deliveries_failed.labels(outcome.alert, result.kind).inc()
        if outcome.template_failed:
            log.error("%s", outcome)  # the alert is held until its template is fixed
        elif outcome.failed:
            log.warning("%s", outcome)
        else:
            log.info("%s", outcome)

    # -- reload --------------------------------------------------------------------------------
    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_EVERY)
            stamp = _stamp(_watched_files(self.config_path, self.config))
            if stamp != self._stamp:
                self._stamp = stamp
                # This loop is no scheduler job: a bug in one reload must not end the watching.
                await _logged(self.reload("a file changed on disk"), "reload")

    async def reload(self, why: str) -> None:
        try:
            config = load_config(self.config_path)
            if config.database != self.config.database:
                raise MonitorError("the database cannot change while running", hint="restart to switch databases")
            pipeline = Pipeline(config, self.store, claims=self.coordinator)  # type: ignore[arg-type]
            await pipeline.in_worker(pipeline.validate)
        except MonitorError as exc:
            self.metrics.reloads.labels("rejected").inc()
            log.error("reload (%s) rejected, still running on the last good config:\n%s", why, exc)
            return
        old = self.pipeline
        self.config, self.pipeline = config, pipeline
        self._schedule()
        self.metrics.reloads.labels("ok").inc()
        log.info("reloaded config (%s): %d sources, %d alerts", why, len(config.sources), len(config.alerts))
        if old is not None:
            await asyncio.to_thread(old.close)

    # -- health --------------------------------------------------------------------------------
    def health_state(self) -> tuple[bool, dict[str, Any]]:
        running = bool(self.scheduler and self.scheduler.running and not self._stop.is_set())
        sources = {}
        if self.scheduler is not None:
            for source in self.config.sources:
                # The stored next poll, which the source's job runs at and `status` shows.
                sources[source.name] = {
                    "enabled": source.enabled,
                    "last_ok": self._last_poll.get(source.name),
                    "next_poll": self._next_poll.get(source.name) if running and source.enabled else None,
                }
        detail: dict[str, Any] = {"status": "ok" if running else "stopped", "pid": os.getpid(), "sources": sources}
        if self.coordinator is not None:
            detail["worker"] = self.coordinator.id
            detail["live_workers"] = len(self.coordinator.live)
        return running, detail
