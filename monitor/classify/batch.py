"""Classifying many input paths for ``advisory-monitor classify``: output lines in argument order.

A long list of files is classified by one process per CPU: this one and children forked after the
engine has loaded (so they share its memory and pay no start-up). All take chunks of paths from one
shared counter, so a process slowed by something else on the machine simply takes fewer; children
append each chunk's output to a file of their own, and this process prints the chunks in order.
Short lists, stdin, and platforms without fork run in this process alone.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing
import os
import signal
import struct
import tempfile
import time
from collections.abc import Iterator, Sequence

import orjson

from monitor.classify.engine import Engine
from monitor.classify.inputs import analysis_json, read_articles, render_text
from monitor.errors import MonitorError, UsageError
from monitor.sources.extract import Boilerplate

log = logging.getLogger(__name__)

MIN_PARALLEL = 200  # below this many paths a child costs more than it saves
# The first byte a child writes says how its share went.
_OK, _USAGE, _FAILED = b"0", b"1", b"2"


def _lines(paths: Sequence[str], engine: Engine, boilerplate: Boilerplate | None, fmt: str,
           color: bool) -> str:
    out: list[str] = []
    for path in paths:
        for article in read_articles(path, boilerplate):
            if fmt == "json":
                # orjson encodes these nested evidence lists three times faster than the json module,
                # a tenth of the whole per-article cost of `classify --format json`.
                out.append(orjson.dumps(analysis_json(article, engine.analyse(article.title, article.text))).decode())
            else:
                out.append(render_text(article, engine.classify(article.title, article.text), color))
    return "".join(line + "\n" for line in out)


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class _Claims:
    """The next unclassified path, shared by the processes: each takes a chunk at a time, smaller as
    the list runs out, so that they finish together whatever else the machine is doing."""

    def __init__(self, total: int, processes: int) -> None:
        self.total = total
        self.processes = processes
        self._next = multiprocessing.get_context("fork").Value("q", 0)

    def take(self) -> tuple[int, int] | None:
        with self._next.get_lock():
            start = self._next.value
            if start >= self.total:
                return None
            end = min(self.total, start + max(_MIN_CHUNK, (self.total - start) // (4 * self.processes)))
            self._next.value = end
        return start, end

    def stop(self) -> None:
        with self._next.get_lock():
            self._next.value = self.total


_MIN_CHUNK = 8
_HEADER = struct.Struct("<cqqq")  # status, first path index, index after the last, body length


def _chunk(paths: Sequence[str], engine: Engine, boilerplate: Boilerplate | None, fmt: str,
           color: bool) -> tuple[bytes, str]:
    try:
        return _OK, _lines(paths, engine, boilerplate, fmt, color)
    except UsageError as exc:
        return _USAGE, str(exc)
    except Exception as exc:  # reported by the parent, with the worker's reason
        return _FAILED, repr(exc)


def _child(claims: _Claims, out: int, paths: Sequence[str], engine: Engine, boilerplate: Boilerplate | None,
           fmt: str, color: bool) -> None:
    """A forked child's life: classify chunks until none is left, appending a record for each to ``out``."""
    while (chunk := claims.take()) is not None:
        start, end = chunk
        status, text = _chunk(paths[start:end], engine, boilerplate, fmt, color)
        body = text.encode()
        record = memoryview(_HEADER.pack(status, start, end, len(body)) + body)
        while record:
            record = record[os.write(out, record):]
        if status != _OK:
            return


def _fork(claims: _Claims, paths: Sequence[str], engine: Engine, boilerplate: Boilerplate | None, fmt: str,
          color: bool) -> tuple[int, int]:
    """(child pid, the unlinked file it appends its records to)."""
    with tempfile.TemporaryFile() as file:
        out = os.dup(file.fileno())
    pid = os.fork()
    if pid:
        return pid, out
    code = 1
    try:
        _child(claims, out, paths, engine, boilerplate, fmt, color)
        code = 0
    finally:
        # Never back into the caller's stack (a test runner, the CLI): the child only classifies.
        os._exit(code)


class _Records:
    """The complete records a child has appended to its file since the last look."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.offset = 0

    def new(self) -> Iterator[tuple[int, int, str | Exception]]:
        size = os.fstat(self.fd).st_size
        while size - self.offset >= _HEADER.size:
            status, start, end, length = _HEADER.unpack(os.pread(self.fd, _HEADER.size, self.offset))
            if size - self.offset - _HEADER.size < length:
                return  # still being written
            text = os.pread(self.fd, length, self.offset + _HEADER.size).decode() if length else ""
            self.offset += _HEADER.size + length
            yield start, end, _outcome(status, text)


def _outcome(status: bytes, text: str) -> str | Exception:
    if status == _OK:
        return text
    if status == _USAGE:
        return UsageError(text)
    return MonitorError(f"a classify worker failed: {text}")


def classify_paths(paths: Sequence[str], engine: Engine, boilerplate: Boilerplate | None, fmt: str = "json",
                   color: bool = False, jobs: int = 0) -> Iterator[str]:
    """Output text for each path, in order (a feed path gives one line per entry)."""
    jobs = jobs or default_jobs()
    # The engine's hundreds of thousands of objects live as long as the process: keep the cyclic
    # collector from walking them again and again, and forked children from copying their pages.
    gc.freeze()
    parallel = jobs > 1 and len(paths) >= MIN_PARALLEL and "-" not in paths and hasattr(os, "fork")
    if not parallel:
        for path in paths:
            yield _lines([path], engine, boilerplate, fmt, color)
        return
    yield from _in_parallel(paths, engine, boilerplate, fmt, color, jobs)


def _in_parallel(paths: Sequence[str], engine: Engine, boilerplate: Boilerplate | None, fmt: str, color: bool,
                 jobs: int) -> Iterator[str]:
    # This process classifies too, taking chunks from the same counter as its children; a chunk's
    # output waits in `done` until everything before it is out. The children append to files rather
    # than pipes so that they never wait for this process, which is busy classifying.
    claims = _Claims(len(paths), jobs)
    log.debug("classifying %d paths in %d processes", len(paths), jobs)
    children: dict[int, _Records] = {}
    running: set[int] = set()
    done: dict[int, tuple[int, str | Exception]] = {}
    emitted = 0
    try:
        for _ in range(jobs - 1):
            pid, out = _fork(claims, paths, engine, boilerplate, fmt, color)
            children[pid] = _Records(out)
            running.add(pid)
        while emitted < len(paths):
            chunk = claims.take()
            if chunk is not None:
                start, end = chunk
                status, text = _chunk(paths[start:end], engine, boilerplate, fmt, color)
                done[start] = (end, _outcome(status, text))
            else:
                # Reaped before reading: whatever an exited child wrote is in its file by now.
                running -= {pid for pid in running if os.waitpid(pid, os.WNOHANG)[0]}
            for records in children.values():
                for first, end, outcome in records.new():
                    done[first] = (end, outcome)
            if any(isinstance(outcome, Exception) for _end, outcome in done.values()):
                claims.stop()  # nothing after a failure is printed: no new chunks for anyone
            if emitted not in done and chunk is None:
                if not running:
                    raise MonitorError("a classify worker process ended before finishing its files",
                                       hint="was it killed (out of memory)? --jobs 1 classifies in one process")
                time.sleep(0.001)
            while emitted in done:
                end, outcome = done.pop(emitted)
                if isinstance(outcome, Exception):
                    raise outcome
                yield outcome
                emitted = end
        for pid in running:  # finishing: no chunk is left for them
            os.waitpid(pid, 0)
        running.clear()
    finally:
        for pid in running:  # stopped early (an error, a closed stdout): no orphans
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        for records in children.values():
            os.close(records.fd)
