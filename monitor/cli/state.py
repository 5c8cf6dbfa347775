"""What the service holds and knows: ``advisories``, ``trips``, ``status`` (sources, alerts, workers), ``db``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor.cli.common import emit, load, make_dispatcher, open_store, when

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.store import LevelRow, Store


def cmd_advisories(args: argparse.Namespace) -> int:
    """Current official levels: one JSON object per (issuer, country), or a table of countries
    with every issuer side by side (level, * when stricter advice covers parts, date since)."""
    from monitor.store import AdvisoryLevels

    config = load(args)
    store = open_store(config)
    try:
        rows = AdvisoryLevels(store).current(country=args.country)
    finally:
        store.close()
    if args.format == "json":
        for row in rows[: args.limit] if args.limit else rows:
            emit(json.dumps({"issuer": row.issuer, "country": row.country, "level": row.level, "label": row.label,
                              "parts": row.parts, "since": row.since.isoformat()}, ensure_ascii=False))
        return 0
    from monitor.official.countries import country_name

    order = {s.name: i for i, s in enumerate(config.sources)}
    issuers = sorted({r.issuer for r in rows}, key=lambda name: (order.get(name, len(order)), name))
    table: dict[str, dict[str, LevelRow]] = {}
    for row in rows:
        table.setdefault(row.country, {})[row.issuer] = row
    countries = sorted(table)[: args.limit] if args.limit else sorted(table)
    if not countries:
        emit("no official advisory levels stored yet (add an official source and run `once`)")
        return 0
    width = max(16, *(len(i) + 2 for i in issuers))
    emit(f"{'country':<28}" + "".join(f"{i:<{width}}" for i in issuers))
    for code in countries:
        cells = []
        for issuer in issuers:
            level = table[code].get(issuer)
            cells.append(f"{level.level}{'*' if level.parts else ' '} {level.since:%Y-%m-%d}" if level else "-")
        emit(f"{code} {country_name(code)[:24]:<25}" + "".join(f"{c:<{width}}" for c in cells))
    emit("level 1-4 and the date of the last change; * stricter advice for parts of the country")
    return 0


def cmd_trips(args: argparse.Namespace) -> int:
    """Every trip (config and trips folder) with its legs, their state and official level, and
    the items sent to it; the folder's bad files are listed after them."""
    from monitor.dispatch.travel import trip_report

    config = load(args)
    store = open_store(config)
    try:
        dispatcher = make_dispatcher(config, store)
        trips = trip_report(dispatcher.travel, datetime.now(UTC))
    finally:
        store.close()
    problems = dispatcher.travel.plan.problems
    if args.format == "json":
        for trip in trips[: args.limit] if args.limit else trips:
            emit(json.dumps(trip, ensure_ascii=False))
    elif not trips:
        emit("no trips (add travel: trips: or travel: folder: to the config)")
    for trip in trips if args.format == "text" else ():
        who = f" ({trip['traveller']})" if trip["traveller"] else ""
        emit(f"{trip['name']}{who}: {trip['items_sent']} items sent, from {trip['from']}")
        for leg in trip["legs"]:
            level = f"level {leg['level']} ({leg['level_issuer']})" if leg["level"] else "no official level"
            state = leg["state"] + ("*" if leg["watched"] and leg["state"] == "upcoming" else "")
            emit(f"  {state:<9} {leg['dates']:<26} {leg['name']} ({leg['place']}), {level}")
    if trips and args.format == "text":
        emit("* upcoming within the lead time: its items are sent already")
    for problem in problems:
        sys.stderr.write(f"advisory-monitor trips: {problem}\n")
    return 0


def _worker_rows(config: Config, store: Store) -> list[dict[str, Any]]:
    """The live workers sharing a PostgreSQL database and what each holds (none on SQLite)."""
    from monitor.store.dialects import divides_by_leases
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

    config = load(args)
    store = open_store(config)
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
                     # A disabled source, or a feed its server says is gone (410), is never polled.
                     "next_poll": state.next_due if state and source.enabled and not state.gone else None,
                     "gone": bool(state and state.gone),
                     "last_error": state.last_error if state else None,
                     "items": state.items_total if state else 0})
    for alert in config.alerts:
        by_status = counts.get(alert.name, {})
        rows.append({"type": "alert", "name": alert.name, "last_digest": last.get(alert.name),
                     "pending": by_status.get("pending", 0), "failed": by_status.get("failed", 0),
                     "sent": by_status.get("sent", 0)})
    if args.format == "json":
        for row in rows:
            emit(json.dumps(row, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v)))
        return 0
    workers = [r for r in rows if r["type"] == "worker"]
    if workers:
        emit(f"{'WORKER':<44} {'STARTED':<19}  {'HEARTBEAT':<19}  HOLDS")
        for row in workers:
            holds = ", ".join(f"{kind} {name}" for kind, name in row["holds"]) or "-"
            emit(f"{row['name']:<44} {when(row['started']):<19}  {when(row['heartbeat']):<19}  {holds}")
        emit("")
    names = {id(row): row["name"] + ("" if row.get("enabled", True) else " (off)") for row in rows}
    # As wide as the longest name, so a long or disabled source's name never pushes its row askew.
    width = max([24, *(len(name) for name in names.values())])
    emit(f"{'SOURCE':<{width}} {'LAST OK':<19}  {'FAILS':>5}  {'NEXT POLL':<19}  {'ITEMS':>6}  LAST ERROR")
    for row in rows:
        if row["type"] == "source":
            emit(f"{names[id(row)]:<{width}} {when(row['last_ok']):<19}  {row['failures']:>5}  "
                 f"{'gone (410)' if row['gone'] else when(row['next_poll']):<19}  {row['items']:>6}  "
                 f"{row['last_error'] or ''}")
    emit("")
    emit(f"{'ALERT':<{width}} {'LAST DIGEST':<19}  {'PENDING':>7}  {'FAILED':>6}  {'SENT':>5}")
    for row in rows:
        if row["type"] == "alert":
            emit(f"{names[id(row)]:<{width}} {when(row['last_digest']):<19}  {row['pending']:>7}  "
                 f"{row['failed']:>6}  {row['sent']:>5}")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from monitor.store import Store
    from monitor.store.migrate import current, head, upgrade

    config = load(args)
    store = Store.open(config.database, migrate=False)
    try:
        if args.action == "upgrade":
            before, after = upgrade(store.engine, config.database)
            was = f" (was {before or 'unversioned: empty or older'})" if before != after else " (already up to date)"
            emit(f"schema at revision {after}{was}")
        else:
            revision, code = current(store.engine), head()
            note = "up to date" if revision == code else f"this program's is {code}; run `advisory-monitor db upgrade`"
            emit(f"{revision or 'none (empty, or made before migrations)'} ({note})")
    finally:
        store.close()
    return 0
