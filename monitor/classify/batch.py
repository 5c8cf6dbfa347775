"""Classifying many input paths for ``advisory-monitor classify``: output lines in argument order.

A long list of files is split into one share per CPU: this process classifies the first share while
forked children (forked after the engine has loaded, so they share its memory and pay no start-up)
classify the others, each writing its finished output into a pipe that this process copies out in
order. Short lists, stdin, and platforms without fork run in this process alone.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
from collections.abc import Iterator, Sequence

import orjson

from monitor.classify.inputs import analysis_json, read_articles, render_text
from monitor.classify.scorer import Engine
from monitor.errors import UsageError
from monitor.extract import Boilerplate

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


def _fork_share(paths: Sequence[str], engine: Engine, boilerplate: Boilerplate | None, fmt: str,
                color: bool) -> tuple[int, int]:
    """(child pid, read end of its pipe). The child writes a status byte and its output, then exits."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        return pid, read_end
    code = 1
    try:
        os.close(read_end)
        try:
            payload = _OK + _lines(paths, engine, boilerplate, fmt, color).encode()
        except UsageError as exc:
            payload = _USAGE + str(exc).encode()
        except Exception as exc:  # reported by the parent, with the child's reason
            payload = _FAILED + repr(exc).encode()
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(payload)
        code = 0
    finally:
        # Never back into the caller's stack (a test runner, the CLI): the child only classifies.
        os._exit(code)


def _collect(pid: int, read_end: int) -> str:
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    status, body = data[:1], data[1:].decode()
    if status == _OK:
        return body
    if status == _USAGE:
        raise UsageError(body)
    raise RuntimeError(f"a classify worker failed: {body or 'it exited without output'}")


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
    # This process takes the first share itself and each child one other share, whole: small tasks
    # and a pool's round trips and result pickling cost a tenth of the throughput on 2,000 files.
    size = -(-len(paths) // jobs)
    shares = [paths[i:i + size] for i in range(size, len(paths), size)]
    log.debug("classifying %d paths in %d processes", len(paths), len(shares) + 1)
    children: list[tuple[int, int]] = []
    try:
        for share in shares:
            children.append(_fork_share(share, engine, boilerplate, fmt, color))
        for path in paths[:size]:
            yield _lines([path], engine, boilerplate, fmt, color)
        while children:
            pid, read_end = children.pop(0)
            yield _collect(pid, read_end)
    finally:
        for pid, read_end in children:  # stopped early (an error, a closed stdout): no orphans
            os.kill(pid, signal.SIGKILL)
            os.close(read_end)
            os.waitpid(pid, 0)
