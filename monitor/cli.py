"""The ``advisory-monitor`` command: parses arguments, loads config, calls one stage function.

The only module that prints and chooses exit codes: 0 done, 1 runtime failure, 2 bad config or
usage. Heavy modules are imported inside the commands so that ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor import __version__

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.store import Store

log = logging.getLogger("monitor")

Handler = Callable[[argparse.Namespace], int]


# ---------------------------------------------------------------------------------------------
# Shared helpers

def _config(args: argparse.Namespace) -> Config:
    from monitor.config import load_config

    return load_config(args.config)


def _store(config: Config) -> Store:
    from monitor.store import Store

    return Store.open(config.database)


def _emit(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def _parse_since(value: str) -> datetime:
    """``--since``: an ISO date/time, or a duration back from now (``24h``, ``7d``)."""
    from monitor.durations import parse_duration

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


def _print_source_reports(reports: Sequence[Any]) -> None:
    for report in reports:
        line = report.summary()
        (sys.stderr if not report.ok else sys.stdout).write(line + "\n")
        for warning in report.warnings[:5]:
            sys.stderr.write(f"  warning: {warning}\n")
        if len(report.warnings) > 5:
            sys.stderr.write(f"  ... and {len(report.warnings) - 5} more warnings\n")


def _with_lock(config: Config) -> Any:
    from contextlib import nullcontext

    from monitor.dialects import sqlite_path
    from monitor.lock import lock_for

    lock = lock_for(sqlite_path(config.database))
    return lock if lock is not None else nullcontext()


# ---------------------------------------------------------------------------------------------
# Commands

def cmd_ingest(args: argparse.Namespace) -> int:
    import asyncio

    from monitor.pipeline import Pipeline

    config = _config(args)
    with _with_lock(config):
        store = _store(config)
        pipeline = Pipeline(config, store)
        try:
            reports = asyncio.run(pipeline.ingest(args.source or None))
        finally:
            pipeline.close()
            store.close()
    _print_source_reports(reports)
    return 1 if args.strict and any(not r.ok for r in reports) else 0


def cmd_once(args: argparse.Namespace) -> int:
    import asyncio

    from monitor.pipeline import Pipeline

    config = _config(args)
    with _with_lock(config):
        store = _store(config)
        pipeline = Pipeline(config, store)
        try:
            report = asyncio.run(pipeline.run_once())
        finally:
            pipeline.close()
            store.close()
    _print_source_reports(report.sources)
    _emit(f"classified {report.classified} item{'s' if report.classified != 1 else ''}")
    for digest in report.digests:
        _emit(str(digest))
    failed = report.failures + sum(1 for d in report.digests if getattr(d, "failed", False))
    return 1 if args.strict and failed else 0


def _item_json(item: Any, cls: Any) -> dict[str, Any]:
    data = {
        "id": item.id, "source": item.source, "title": item.title, "url": item.url,
        "published": item.published.isoformat() if item.published else None,
        "first_seen": item.first_seen.isoformat(), "guid": item.guid, "author": item.author,
        "categories": item.categories, "version": item.version, "text": item.text,
    }
    if item.points:
        data["points"] = [p.model_dump() for p in item.points]
    if cls is not None:
        data["countries"] = cls.countries
        data["threats"] = [t.type for t in cls.threats]
        data["severity"] = cls.severity.value
    return data


def cmd_items(args: argparse.Namespace) -> int:
    config = _config(args)
    store = _store(config)
    try:
        items = store.list_items(source=args.source, since=args.since, region=args.region, threat=args.threat,
                                 limit=args.limit)
        classes = store.classifications([i.id for i in items])
    finally:
        store.close()
    for item in items:
        cls = classes.get(item.id)
        if args.format == "json":
            _emit(json.dumps(_item_json(item, cls), ensure_ascii=False))
        else:
            when = (item.published or item.first_seen).strftime("%Y-%m-%d %H:%M")
            tags = ""
            if cls is not None:
                tags = f"  [{','.join(cls.countries) or '-'}; {','.join(t.type for t in cls.threats) or '-'}; " \
                       f"{cls.severity.value}]"
            _emit(f"{when}  {item.source:<16} {item.title}{tags}")
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from monitor.errors import UsageError

    raise UsageError("classify is not available yet")


def cmd_rules(args: argparse.Namespace) -> int:
    from monitor.errors import UsageError

    raise UsageError("rules check|test is not available yet")


def cmd_not_yet(args: argparse.Namespace) -> int:
    from monitor.errors import UsageError

    raise UsageError(f"'{args.command}' is not available in this version yet")


# ---------------------------------------------------------------------------------------------
# Parser

def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default="config.yaml", metavar="FILE",
                        help="configuration file (default: ./config.yaml)")
    common.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    common.add_argument("--log-format", choices=("text", "json"), default="text",
                        help="log lines for a person (text) or for a log shipper (json)")
    listing = argparse.ArgumentParser(add_help=False)
    listing.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    listing.add_argument("--limit", type=int, default=None, help="at most this many rows")
    strict = argparse.ArgumentParser(add_help=False)
    strict.add_argument("--strict", action="store_true",
                        help="exit 1 when a source or a delivery failed (for cron jobs that mail on failure)")

    parser = argparse.ArgumentParser(
        prog="advisory-monitor",
        description="Watch travel-advisory and news sources, classify where and what, send digests.")
    parser.add_argument("--version", action="version", version=f"advisory-monitor {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, handler: Handler, help_: str, parents: Sequence[argparse.ArgumentParser] = ()) -> Any:
        p = sub.add_parser(name, help=help_, description=help_, parents=[common, *parents])
        p.set_defaults(handler=handler)
        return p

    add("once", cmd_once, "one full cycle: ingest, classify, match, deliver; then exit", [strict])
    add("run", cmd_not_yet, "run as a daemon until SIGTERM/SIGINT")
    p = add("ingest", cmd_ingest, "poll every enabled source once and store what is new", [strict])
    p.add_argument("--source", action="append", metavar="NAME", help="only this source (repeatable)")
    p = add("items", cmd_items, "list stored items", [listing])
    p.add_argument("--source", metavar="NAME", help="only items of this source")
    p.add_argument("--since", type=_parse_since, metavar="WHEN", help="ISO date or a duration back (24h, 7d)")
    p.add_argument("--region", action="append", metavar="ID", help="only items about this region (repeatable)")
    p.add_argument("--threat", action="append", metavar="TYPE", help="only items with this threat (repeatable)")
    p = add("classify", cmd_classify, "classify text files and RSS/Atom files (no config or database needed)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="article files, feed files, or - for stdin")
    p.add_argument("--rules", action="append", metavar="DIR", help="an extra rules folder (repeatable)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p = add("rules", cmd_rules, "validate the classification rules, or run their test cases")
    p.add_argument("action", choices=("check", "test"), help="check: validate; test: run rules/tests cases")
    p.add_argument("--rules", action="append", metavar="DIR", help="an extra rules folder (repeatable)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p = add("alerts", cmd_not_yet, "alert rules: backtest one against the stored items", [listing])
    p.add_argument("action", choices=("test",), help="test: list what the rule would have sent")
    p.add_argument("alert", metavar="ALERT", help="the alert's name")
    p = add("digest", cmd_not_yet, "render an alert's pending digest without sending it")
    p.add_argument("action", choices=("preview",), help="preview: render what would go now")
    p.add_argument("alert", metavar="ALERT", help="the alert's name")
    p = add("digests", cmd_not_yet, "digest history and delivery state; retry a failed delivery", [listing])
    p.add_argument("action", nargs="?", choices=("list", "show", "retry"), default="list")
    p.add_argument("id", nargs="?", metavar="ID", help="digest id for show and retry")
    add("advisories", cmd_not_yet, "current official advisory levels", [listing])
    add("status", cmd_not_yet, "sources and alerts at a glance", [listing])
    return parser


def _setup_logging(args: argparse.Namespace) -> None:
    from monitor.logs import configure_logging

    configure_logging(debug=getattr(args, "debug", False), fmt=getattr(args, "log_format", "text"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args)
    from monitor.errors import MonitorError

    try:
        return int(args.handler(args))
    except MonitorError as exc:
        if args.debug:
            log.exception("failed")
        sys.stderr.write(f"advisory-monitor {args.command}: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
