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
    from monitor.store import LevelRow, Store

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
        # Like a failed source: a delivery that failed is reported on stderr (and kept, and retried).
        (sys.stderr if getattr(digest, "failed", False) else sys.stdout).write(f"{digest}\n")
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
    from pathlib import Path

    from monitor.classify.batch import classify_paths
    from monitor.classify.engine import load_engine
    from monitor.extract import load_boilerplate

    rule_dirs = [Path(d) for d in args.rules or ()]
    engine = load_engine(rule_dirs)
    boilerplate = load_boilerplate(rule_dirs)
    color = args.format == "text" and sys.stdout.isatty()
    for text in classify_paths(args.paths, engine, boilerplate, args.format, color, args.jobs):
        sys.stdout.write(text)
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    from pathlib import Path

    from monitor.classify.rules import check_rules

    rule_dirs = [Path(d) for d in args.rules or ()]
    if args.action == "check":
        problems = check_rules(rule_dirs)
        for problem in problems:
            sys.stderr.write(f"{problem}\n")
        if problems:
            sys.stderr.write(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found\n")
            return 2
        _emit("rules OK")
        return 0
    from monitor.classify.ruletests import run_rule_tests

    report = run_rule_tests(rule_dirs)
    if args.format == "json":
        _emit(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        for line in report.lines():
            _emit(line)
    return 0 if report.ok else 1


def cmd_run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from monitor.daemon import Daemon

    return Daemon(Path(args.config)).run()


def _dispatcher(config: Config, store: Store) -> Any:
    from monitor.classify.engine import load_engine
    from monitor.dispatch import Dispatcher

    return Dispatcher(config, store, engine=load_engine(config.rules))


def cmd_alerts(args: argparse.Namespace) -> int:
    config = _config(args)
    store = _store(config)
    try:
        found = _dispatcher(config, store).backtest(args.alert)
    finally:
        store.close()
    shown = found[-args.limit:] if args.limit else found
    for row in shown:
        m, item, cls = row.match, row.item, row.classification
        if args.format == "json":
            _emit(json.dumps({
                "id": item.id, "title": item.title, "url": item.url, "source": item.source,
                "published": item.published.isoformat() if item.published else None,
                "first_seen": item.first_seen.isoformat(),
                "severity": cls.severity.value if cls else None, "countries": cls.countries if cls else [],
                "matched_regions": list(m.regions), "matched_threats": list(m.threats),
                "matched_keywords": list(m.keywords), "why": m.why, "digest": row.digest_id,
            }, ensure_ascii=False))
        else:
            state = f"sent in {row.digest_id}" if row.digest_id else "not sent yet"
            severity = cls.severity.value if cls else "?"
            _emit(f"{m.dated:%Y-%m-%d %H:%M}  {severity:<8} {item.title}  [{item.source}; {state}]")
            _emit(f"    {m.why}")
    if args.format == "text":
        sent = sum(1 for r in found if r.digest_id)
        _emit(f"{len(found)} item{'s' if len(found) != 1 else ''} match alert '{args.alert}' "
              f"({sent} sent, {len(found) - sent} not sent yet)")
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    import re
    import tempfile
    from pathlib import Path

    config = _config(args)
    store = _store(config)
    try:
        selection, rendered = _dispatcher(config, store).preview(args.alert)
    finally:
        store.close()
    if rendered is None:
        why = f"{selection.held} held for quiet hours" if selection.held else "no new matching items"
        sys.stderr.write(f"alert '{args.alert}' has nothing to send now ({why})\n")
        return 0
    if args.open:
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", args.alert)
        path = Path(tempfile.gettempdir()) / f"advisory-monitor-preview-{name}.html"
        path.write_text(rendered.html, encoding="utf-8")
        _emit(str(path))
        return 0
    if args.part == "html":
        _emit(rendered.html)
    elif args.part == "json":
        _emit(json.dumps(rendered.payload, ensure_ascii=False, indent=2))
    else:
        _emit(f"Subject: {rendered.subject}")
        _emit()
        _emit(rendered.text.rstrip("\n"))
    if selection.carried:
        sys.stderr.write(f"({selection.carried} more would be carried to the next digest)\n")
    return 0


def _delivery_state(d: Any, kind: bool = True) -> str:
    prefix = f"{d.kind} " if kind else ""
    if d.status == "sent":
        return f"{prefix}sent" + (f" (refused: {d.last_error})" if d.last_error else "")
    if d.status == "failed":
        return f"{prefix}FAILED after {d.attempts} attempt{'s' if d.attempts != 1 else ''}: {d.last_error}"
    if d.attempts:
        when = f"{d.next_attempt:%Y-%m-%d %H:%M} UTC" if d.next_attempt else "now"
        return f"{prefix}waiting (attempt {d.attempts + 1} at {when}; last: {d.last_error})"
    return f"{prefix}pending"


def _digest_json(record: Any, items: Sequence[Any] = ()) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": record.id, "alert": record.alert, "created_at": record.created_at.isoformat(),
        "items": record.item_count, "carried": record.carried, "subject": record.subject,
        "deliveries": [{
            "kind": d.kind, "target": d.label, "status": d.status, "attempts": d.attempts,
            "next_attempt": d.next_attempt.isoformat() if d.next_attempt and d.status == "pending" else None,
            "last_error": d.last_error, "sent_at": d.sent_at.isoformat() if d.sent_at else None,
        } for d in record.deliveries],
    }
    if items:
        data["entries"] = [{"id": i.id, "title": i.title, "url": i.url, "source": i.source} for i in items]
    return data


def cmd_digests(args: argparse.Namespace) -> int:
    import asyncio

    from monitor.errors import UsageError
    from monitor.store import Outbox

    if args.action in ("show", "retry") and not args.id:
        raise UsageError(f"digests {args.action} needs a digest id", hint="`advisory-monitor digests` lists them")
    config = _config(args)
    if args.action == "retry":
        with _with_lock(config):
            store = _store(config)
            try:
                dispatcher = _dispatcher(config, store)
                record = dispatcher.retry(args.id)
                if record is None:
                    raise UsageError(f"no digest has the id '{args.id}'", hint="`advisory-monitor digests` lists them")
                outcomes = asyncio.run(dispatcher.deliver_due())
            finally:
                store.close()
        for outcome in outcomes:
            (sys.stderr if outcome.failed else sys.stdout).write(f"{outcome}\n")
        if not outcomes:
            _emit(f"digest {record.id}: every delivery was sent already")
        return 1 if args.strict and any(o.failed for o in outcomes) else 0
    store = _store(config)
    try:
        outbox = Outbox(store)
        if args.action == "show":
            found = outbox.digest(args.id)
            if found is None:
                raise UsageError(f"no digest has the id '{args.id}'", hint="`advisory-monitor digests` lists them")
            items = {i.id: i for i in store.list_items(ids=found.item_ids)}
            entries = [items[i] for i in found.item_ids if i in items]
            records = [found]
        else:
            records = outbox.list_digests(limit=args.limit)
            entries = []
    finally:
        store.close()
    for record in records:
        if args.format == "json":
            _emit(json.dumps(_digest_json(record, entries), ensure_ascii=False))
            continue
        states = ", ".join(_delivery_state(d) for d in record.deliveries)
        _emit(f"{record.id}  {record.created_at:%Y-%m-%d %H:%M}  {record.alert}  "
              f"{record.item_count} item{'s' if record.item_count != 1 else ''}  {states}")
        if args.action == "show":
            _emit(f"  subject: {record.subject}")
            for d in record.deliveries:
                _emit(f"  {d.label}: {_delivery_state(d, kind=False)}")
            for item in entries:
                _emit(f"  - {item.title}" + (f" <{item.url}>" if item.url else ""))
    return 0


def cmd_advisories(args: argparse.Namespace) -> int:
    """Current official levels: one JSON object per (issuer, country), or a table of countries
    with every issuer side by side (level, * when stricter advice covers parts, date since)."""
    from monitor.store import AdvisoryLevels

    config = _config(args)
    store = _store(config)
    try:
        rows = AdvisoryLevels(store).current(country=args.country)
    finally:
        store.close()
    if args.format == "json":
        for row in rows[: args.limit] if args.limit else rows:
            _emit(json.dumps({"issuer": row.issuer, "country": row.country, "level": row.level, "label": row.label,
                              "parts": row.parts, "since": row.since.isoformat()}, ensure_ascii=False))
        return 0
    from monitor.sources.official.countries import country_name

    order = {s.name: i for i, s in enumerate(config.sources)}
    issuers = sorted({r.issuer for r in rows}, key=lambda name: (order.get(name, len(order)), name))
    table: dict[str, dict[str, LevelRow]] = {}
    for row in rows:
        table.setdefault(row.country, {})[row.issuer] = row
    countries = sorted(table)[: args.limit] if args.limit else sorted(table)
    if not countries:
        _emit("no official advisory levels stored yet (add an official source and run `once`)")
        return 0
    width = max(16, *(len(i) + 2 for i in issuers))
    _emit(f"{'country':<28}" + "".join(f"{i:<{width}}" for i in issuers))
    for code in countries:
        cells = []
        for issuer in issuers:
            level = table[code].get(issuer)
            cells.append(f"{level.level}{'*' if level.parts else ' '} {level.since:%Y-%m-%d}" if level else "-")
        _emit(f"{code} {country_name(code)[:24]:<25}" + "".join(f"{c:<{width}}" for c in cells))
    _emit("level 1-4 and the date of the last change; * stricter advice for parts of the country")
    return 0


def cmd_trips(args: argparse.Namespace) -> int:
    """Every trip (config and trips folder) with its legs, their state and official level, and
    the items sent to it; the folder's bad files are listed after them."""
    from monitor.travel import trip_report

    config = _config(args)
    store = _store(config)
    try:
        dispatcher = _dispatcher(config, store)
        trips = trip_report(dispatcher.travel, datetime.now(UTC))
    finally:
        store.close()
    problems = dispatcher.travel.plan.problems
    if args.format == "json":
        for trip in trips[: args.limit] if args.limit else trips:
            _emit(json.dumps(trip, ensure_ascii=False))
    elif not trips:
        _emit("no trips (add travel: trips: or travel: folder: to the config)")
    for trip in trips if args.format == "text" else ():
        who = f" ({trip['traveller']})" if trip["traveller"] else ""
        _emit(f"{trip['name']}{who}: {trip['items_sent']} items sent, from {trip['from']}")
        for leg in trip["legs"]:
            level = f"level {leg['level']} ({leg['level_issuer']})" if leg["level"] else "no official level"
            state = leg["state"] + ("*" if leg["watched"] and leg["state"] == "upcoming" else "")
            _emit(f"  {state:<9} {leg['dates']:<26} {leg['name']} ({leg['place']}), {level}")
    if trips and args.format == "text":
        _emit("* upcoming within the lead time: its items are sent already")
    for problem in problems:
        sys.stderr.write(f"advisory-monitor trips: {problem}\n")
    return 0


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _worker_rows(config: Config, store: Store) -> list[dict[str, Any]]:
    """The live workers sharing a PostgreSQL database and what each holds (none on SQLite)."""
    from monitor.dialects import divides_by_leases
    from monitor.store.leases import current_leases, live_workers

    if not divides_by_leases(config.database):
        return []

    holds: dict[str, list[tuple[str, str]]] = {}
    for lease in current_leases(store):
        holds.setdefault(lease.owner, []).append((lease.kind, lease.name))
    return [{"type": "worker", "name": w.id, "host": w.host, "pid": w.pid, "started": w.started_at,
             "heartbeat": w.heartbeat, "holds": holds.get(w.id, [])}
            for w in live_workers(store, config.workers.lease)]


def cmd_status(args: argparse.Namespace) -> int:
    from monitor.store import Outbox

    config = _config(args)
    store = _store(config)
    try:
        states = store.source_states()
        outbox = Outbox(store)
        last = outbox.last_digest_times()
        counts = outbox.delivery_counts()
        rows: list[dict[str, Any]] = _worker_rows(config, store)
    finally:
        store.close()
    for source in config.sources:
        state = states.get(source.name)
        rows.append({"type": "source", "name": source.name, "kind": source.kind, "enabled": source.enabled,
                     "last_ok": state.last_success if state else None,
                     "failures": state.consecutive_failures if state else 0,
                     "next_poll": state.next_due if state else None,
                     "last_error": state.last_error if state else None,
                     "items": state.items_total if state else 0})
    for alert in config.alerts:
        by_status = counts.get(alert.name, {})
        rows.append({"type": "alert", "name": alert.name, "last_digest": last.get(alert.name),
                     "pending": by_status.get("pending", 0), "failed": by_status.get("failed", 0),
                     "sent": by_status.get("sent", 0)})
    if args.format == "json":
        for row in rows:
            _emit(json.dumps(row, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v)))
        return 0
    workers = [r for r in rows if r["type"] == "worker"]
    if workers:
        _emit(f"{'WORKER':<44} {'STARTED':<19}  {'HEARTBEAT':<19}  HOLDS")
        for row in workers:
            holds = ", ".join(f"{kind} {name}" for kind, name in row["holds"]) or "-"
            _emit(f"{row['name']:<44} {_when(row['started']):<19}  {_when(row['heartbeat']):<19}  {holds}")
        _emit("")
    _emit(f"{'SOURCE':<24} {'LAST OK':<19}  {'FAILS':>5}  {'NEXT POLL':<19}  {'ITEMS':>6}  LAST ERROR")
    for row in rows:
        if row["type"] == "source":
            name = row["name"] + ("" if row["enabled"] else " (off)")
            _emit(f"{name:<24} {_when(row['last_ok']):<19}  {row['failures']:>5}  {_when(row['next_poll']):<19}  "
                  f"{row['items']:>6}  {row['last_error'] or ''}")
    _emit("")
    _emit(f"{'ALERT':<24} {'LAST DIGEST':<19}  {'PENDING':>7}  {'FAILED':>6}  {'SENT':>5}")
    for row in rows:
        if row["type"] == "alert":
            _emit(f"{row['name']:<24} {_when(row['last_digest']):<19}  {row['pending']:>7}  {row['failed']:>6}  "
                  f"{row['sent']:>5}")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from monitor.store import Store
    from monitor.store.migrate import current, head, upgrade

    config = _config(args)
    store = Store.open(config.database, migrate=False)
    try:
        if args.action == "upgrade":
            before, after = upgrade(store.engine, config.database)
            was = f" (was {before or 'unversioned: empty or older'})" if before != after else " (already up to date)"
            _emit(f"schema at revision {after}{was}")
        else:
            revision, code = current(store.engine), head()
            note = "up to date" if revision == code else f"this program's is {code}; run `advisory-monitor db upgrade`"
            _emit(f"{revision or 'none (empty, or made before migrations)'} ({note})")
    finally:
        store.close()
    return 0


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
    add("run", cmd_run, "run as a daemon until SIGTERM/SIGINT; SIGHUP reloads the config")
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
    p.add_argument("--jobs", type=int, default=0, metavar="N",
                   help="worker processes for long lists of files (default: one per CPU; 1: no workers)")
    p = add("rules", cmd_rules, "validate the classification rules, or run their test cases")
    p.add_argument("action", choices=("check", "test"), help="check: validate; test: run rules/tests cases")
    p.add_argument("--rules", action="append", metavar="DIR", help="an extra rules folder (repeatable)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p = add("alerts", cmd_alerts, "alert rules: backtest one against the stored items", [listing])
    p.add_argument("action", choices=("test",), help="test: list what the rule would have sent")
    p.add_argument("alert", metavar="ALERT", help="the alert's name")
    p = add("digest", cmd_digest, "render an alert's pending digest without sending it")
    p.add_argument("action", choices=("preview",), help="preview: render what would go now")
    p.add_argument("alert", metavar="ALERT", help="the alert's name")
    p.add_argument("--part", choices=("text", "html", "json"), default="text",
                   help="which rendering to print: the email's text or HTML part, or the webhook JSON")
    p.add_argument("--open", action="store_true",
                   help="write the HTML part to a file a browser can open, and print its path")
    p = add("digests", cmd_digests, "digest history and delivery state; retry a failed delivery",
            [listing, strict])
    p.add_argument("action", nargs="?", choices=("list", "show", "retry"), default="list",
                   help="list (default), show ID, or retry ID: send its failed deliveries now")
    p.add_argument("id", nargs="?", metavar="ID", help="digest id (or a unique start of it) for show and retry")
    p = add("advisories", cmd_advisories, "current official advisory levels, every issuer side by side", [listing])
    p.add_argument("--country", metavar="ISO2", help="only this country (ISO 3166-1 alpha-2, e.g. AZ)")
    add("status", cmd_status, "sources and alerts at a glance", [listing])
    p = add("db", cmd_db, "database schema: upgrade it to this program's, or show its revision")
    p.add_argument("action", choices=("upgrade", "current"), help="upgrade: migrate in place; current: show revision")
    add("trips", cmd_trips, "trips with their legs, past, active or upcoming, and official levels", [listing])
    return parser


def _setup_logging(args: argparse.Namespace) -> None:
    from monitor.logs import configure_logging

    # The daemon reports each event (polls that stored something, digests, reloads); tools only warn.
    configure_logging(debug=getattr(args, "debug", False), fmt=getattr(args, "log_format", "text"),
                      events=args.command == "run")


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
