"""Classification in a worker process, one item at a time under a time budget: the pipeline's
classify step.

The rules users write run on RE2 and the engine's steps grow with the text, so an item should take
milliseconds. Should one not (a rule, an input or a bug nobody foresaw), a thread classifying it
could never be stopped, and C code holding the GIL meanwhile (Python's ``re`` did) stops the event
loop with it: health checks, signals and leases. A worker process can be killed. An item over its
budget, or whose classification raised, is given up, logged with its id, source and title; it stays
unclassified (this classifier never tries it again) and the items after it go on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from monitor.classify.engine import classify_served, serve_version
from monitor.errors import MonitorError
from monitor.models import Classification, Item
from monitor.sources.parsepool import Worker, worker_context

log = logging.getLogger(__name__)

# Seconds one item may take, plus this much per million characters of text. Normal items take
# milliseconds, a 5 MB file a few seconds; a loaded two-core machine is slower, never by 10 times.
ITEM_BUDGET = 30.0
BUDGET_PER_MILLION_CHARS = 10.0
# Seconds for a fresh worker to load the engine (from the on-disk cache its parent wrote).
START_BUDGET = 120.0


class Classifier:
    """Classifies items with the engine of one rules version, in one worker process (started on
    first use, replaced after a kill). Called from one thread; ``close`` may come from another."""

    def __init__(self, rule_dirs: Sequence[Path], version: str, cache_dir: Path, *, budget: float = ITEM_BUDGET,
                 work: Callable[[str, str, str], Classification] = classify_served) -> None:
        self.rule_dirs = [Path(d).absolute() for d in rule_dirs]
        self.version = version
        self.cache_dir = cache_dir.absolute()
        self.budget = budget
        self.work = work  # run in the worker: (version, title, text) -> Classification
        self.abandoned: set[str] = set()  # ids of the items given up
        self.closed = False
        self._ctx = worker_context()
        self._worker: Worker | None = None
        self._loaded: Worker | None = None  # the worker that holds the engine
        self._lock = threading.Lock()  # guards _worker between the classifying thread and close()

    def classify(self, item: Item) -> Classification | None:
        """``item``'s classification; None when it was given up (logged) or the classifier closed."""
        if self.closed:
            return None
        worker = self._ready()
        budget = self.budget + (len(item.title) + len(item.text)) * BUDGET_PER_MILLION_CHARS / 1e6
        status, value = worker.call(self.work, (self.version, item.title, item.text), {}, budget)
        if status == "ok" and isinstance(value, Classification):
            return value
        if status in ("timeout", "dead"):
            self._discard(worker)
        if self.closed:  # killed by close(): the item is not at fault
            return None
        reason = {"timeout": f"still running after {budget:.0f} s (its worker was killed)",
                  "dead": "the classifying process died (out of memory?)"}.get(status, str(value))
        self.abandoned.add(item.id)
        log.error("classification of item %s (source %s: %r) abandoned: %s; it stays unclassified until "
                  "the rules change or the monitor restarts", item.id, item.source, item.title[:120], reason)
        return None

    def _ready(self) -> Worker:
        """The worker, started and holding the engine; raises MonitorError when it cannot be."""
        with self._lock:
            if self.closed:
                raise MonitorError("classification stopped: the monitor is shutting down")
            worker = self._worker
            if worker is None:
                worker = self._worker = Worker(self._ctx)
        if worker is self._loaded:
            return worker
        status, value = worker.call(serve_version, (self.rule_dirs, self.cache_dir, self.version), {},
                                    START_BUDGET)
        if status == "ok" and value is True:
            self._loaded = worker
            return worker
        self._discard(worker)
        if status == "ok":
            raise MonitorError("the rules changed on disk while classifying",
                               hint="the daemon reloads them by itself; run `once` again")
        raise MonitorError(f"the classifying process could not load the rules ({status}: {value})")

    def _discard(self, worker: Worker) -> None:
        with self._lock:
            if self._worker is worker:
                self._worker = None
        worker.kill()

    def close(self) -> None:
        """Kill the worker at once, whatever it is doing: a stuck item must not hold up shutdown."""
        with self._lock:
            self.closed = True
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.kill()
