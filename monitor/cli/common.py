"""What every command shares: loading the config, opening the store, printing, the instance lock."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor.service.logs import escape_line
from monitor.support.redact import redact_text

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.store import Store



def load(args: argparse.Namespace, *, delivering: bool = False) -> Config:
    """The config; only a command that sends (``delivering``) needs its delivery secrets set."""
    from monitor.config import load_config

    return load_config(args.config, delivering=delivering)


def open_store(config: Config) -> Store:
    from monitor.store import Store

    return Store.open(config.database)


def emit(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def parse_since(value: str) -> datetime:
    """``--since``: an ISO date/time, or a duration back from now (``24h``, ``7d``)."""
    from monitor.support.durations import parse_duration

    try:
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        pass
    try:
        return datetime.now(UTC) - parse_duration(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO date (2024-02-28) or a duration (24h, 7d), got {value!r}") from None


def print_source_reports(reports: Sequence[Any]) -> None:
    for report in reports:
        # A summary or warning may quote a feed's title or a file's name: one line each, whatever they hold.
        line = escape_line(redact_text(report.summary()))
        (sys.stderr if not report.ok else sys.stdout).write(line + "\n")
        for warning in report.warnings[:5]:
            sys.stderr.write(f"  warning: {escape_line(redact_text(str(warning)))}\n")
        if len(report.warnings) > 5:
            sys.stderr.write(f"  ... and {len(report.warnings) - 5} more warnings\n")


def instance_lock(config: Config) -> Any:
    from contextlib import nullcontext

    from monitor.service.lock import lock_for
    from monitor.store.dialects import sqlite_path

    lock = lock_for(sqlite_path(config.database))
    return lock if lock is not None else nullcontext()


def make_dispatcher(config: Config, store: Store) -> Any:
    from monitor.classify import load_engine
    from monitor.dispatch.dispatcher import Dispatcher

    return Dispatcher(config, store, engine=load_engine(config.rules))


def note_unclassified(config: Config, store: Store) -> None:
    """Say so when stored items wait for classification: matching sees only classified items, and
    an empty answer right after ``ingest`` would otherwise read as "nothing matches"."""
    from monitor.classify.rules import rules_version

    waiting = store.count_unclassified(rules_version(config.rules))
    if waiting:
        sys.stderr.write(f"note: {waiting} stored item{'s are' if waiting != 1 else ' is'} not classified yet "
                         "(by the current rules) and not shown; `advisory-monitor once` or the daemon "
                         "classifies them\n")


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"
