"""Parsing untrusted documents outside the event loop, in worker processes, under a time budget.

feedparser's author regex is quadratic on crafted input and expat spends seconds on an entity
bomb before refusing it. In a thread either would hold the GIL and freeze every other source, every
delivery and the health endpoint. In a worker process it costs one core at most, and a parse
over budget is ended by killing the worker, which is then replaced; nothing else waits.

``Worker`` and ``worker_context`` serve other untrusted work the same way: the pipeline classifies
in one (``monitor.service.classifying``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import multiprocessing
import os
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from monitor.errors import SourceError

log = logging.getLogger(__name__)

# A document that needs more than this much memory to parse is hostile or broken.
WORKER_MEMORY_BYTES = 1536 * 1024 * 1024
DEFAULT_WORKERS = 2


# The pool of the poll in progress: set by the pipeline around a fetch, so that every parser a
# source uses (feeds and the official presets' own) runs in it without threading a parameter
# through each preset.
CURRENT_POOL: contextvars.ContextVar[ParsePool | None] = contextvars.ContextVar("parse_pool", default=None)


class ParseBudgetExceeded(Exception):
    """The parse did not finish within its time budget; the worker was killed."""


class WorkerDied(Exception):
    """The worker process ended during the parse (killed for memory, or crashed)."""


def _serve(conn: Connection) -> None:
    """A worker's loop: receive (function, args, kwargs), send back ("ok", value) or an error."""
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when workers end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(ValueError, OSError, ImportError):
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    while True:
        try:
            fn, args, kwargs = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: tuple[str, Any] = ("ok", fn(*args, **kwargs))
        except SourceError as exc:
            # Exceptions with their own __init__ do not unpickle; send their parts.
            reply = ("source-error", (exc.source, exc.reason, exc.hint))
        except MemoryError:
            reply = ("error", f"ran out of memory (over {WORKER_MEMORY_BYTES // 2**20} MB: an entity bomb, "
                              f"or a document far too big)")
        except Exception as exc:
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return


def worker_context() -> Any:
    """The multiprocessing context workers start in: forkserver, so that they are forked from a clean
    process, never from this one with its threads (spawn where there is no forkserver)."""
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        ctx.set_forkserver_preload(["monitor.sources.feedparsing"])
    return ctx


class Worker:
    """One worker process serving calls one at a time over a pipe."""

    def __init__(self, ctx: Any) -> None:
        parent, child = ctx.Pipe()
        self.conn: Connection = parent
        self.process = ctx.Process(target=_serve, args=(child,), name="advisory-monitor-parse", daemon=True)
        self.process.start()
        child.close()

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
             timeout: float) -> tuple[str, Any]:
        """Blocking exchange (run in a thread): the reply, or ("timeout", None) / ("dead", None)."""
        try:
            self.conn.send((fn, args, kwargs))
            if not self.conn.poll(timeout):
                return "timeout", None
            reply: tuple[str, Any] = self.conn.recv()
            return reply
        except (EOFError, OSError, BrokenPipeError):
            return "dead", None

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.process.join(2)
        with contextlib.suppress(Exception):
            self.conn.close()


class ParsePool:
    """A few worker processes; ``run`` sends one call to an idle worker and waits at most ``timeout``."""

    def __init__(self, workers: int = DEFAULT_WORKERS) -> None:
        self.size = max(1, workers)
        self._ctx = worker_context()
        self._idle: asyncio.Queue[Worker] | None = None
        self._all: set[Worker] = set()
        self._closed = False

    async def _checkout(self) -> Worker:
        if self._idle is None:
            self._idle = asyncio.Queue()
            for _ in range(self.size):
                worker = await asyncio.to_thread(Worker, self._ctx)
                self._all.add(worker)
                self._idle.put_nowait(worker)
        return await self._idle.get()

    async def _replace(self, worker: Worker) -> None:
        self._all.discard(worker)
        await asyncio.to_thread(worker.kill)
        if self._closed or self._idle is None:
            return
        fresh = await asyncio.to_thread(Worker, self._ctx)
        self._all.add(fresh)
        self._idle.put_nowait(fresh)

    async def run(self, fn: Callable[..., Any], *args: Any, timeout: float, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` in a worker. Raises what the function raised (SourceError kept),
        ParseBudgetExceeded after ``timeout`` seconds, WorkerDied if the worker ended."""
        if self._closed:
            raise RuntimeError("parse pool is closed")
        worker = await self._checkout()
        try:
            status, value = await asyncio.to_thread(worker.call, fn, args, kwargs, timeout)
        except BaseException:
            # Cancelled while a worker was busy: its answer would arrive for a caller long gone.
            await asyncio.shield(self._replace(worker))
            raise
        if status in ("timeout", "dead"):
            await self._replace(worker)
            if status == "timeout":
                raise ParseBudgetExceeded(timeout)
            raise WorkerDied()
        assert self._idle is not None
        self._idle.put_nowait(worker)
        if status == "ok":
            return value
        if status == "source-error":
            source, reason, hint = value
            raise SourceError(source, reason, hint)
        raise RuntimeError(value)

    def close(self) -> None:
        """Kill every worker at once: a hostile parse must not hold up shutdown."""
        self._closed = True
        for worker in list(self._all):
            worker.kill()
        self._all.clear()

    @property
    def pids(self) -> list[int]:
        return [w.process.pid for w in self._all if w.process.pid is not None]


def cpu_workers() -> int:
    try:
        return max(1, min(DEFAULT_WORKERS, len(os.sched_getaffinity(0))))
    except AttributeError:
        return DEFAULT_WORKERS
