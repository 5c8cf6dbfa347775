"""Alerts and digests: ``alerts test`` (backtest), ``digest preview``, ``digests list|show|retry``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from monitor.cli.common import emit, instance_lock, load, make_dispatcher, note_unclassified, open_store
from monitor.service.logs import escape_line


def cmd_alerts(args: argparse.Namespace) -> int:
    config = load(args)
    store = open_store(config)
    try:
        found = make_dispatcher(config, store).backtest(args.alert)
        note_unclassified(config, store)
    finally:
        store.close()
    shown = found[-args.limit:] if args.limit else found
    for row in shown:
        m, item, cls = row.match, row.item, row.classification
        if args.format == "json":
            emit(json.dumps({
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
            emit(f"{m.dated:%Y-%m-%d %H:%M}  {severity:<8} {item.title}  [{item.source}; {state}]")
            emit(f"    {m.why}")
    if args.format == "text":
        sent = sum(1 for r in found if r.digest_id)
        emit(f"{len(found)} item{'s' if len(found) != 1 else ''} match alert '{args.alert}' "
              f"({sent} sent, {len(found) - sent} not sent yet)")
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    import re
    import tempfile
    from pathlib import Path

    config = load(args)
    store = open_store(config)
    try:
        selection, rendered = make_dispatcher(config, store).preview(args.alert)
        note_unclassified(config, store)
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
        emit(str(path))
        return 0
    if args.part == "html":
        emit(rendered.html)
    elif args.part == "json":
        emit(json.dumps(rendered.payload, ensure_ascii=False, indent=2))
    else:
        emit(f"Subject: {rendered.subject}")
        emit()
        emit(rendered.text.rstrip("\n"))
    if selection.carried:
        sys.stderr.write(f"({selection.carried} more would be carried to the next digest)\n")
    return 0


def _delivery_state(d: Any, kind: bool = True) -> str:
    prefix = f"{d.kind} " if kind else ""
    if d.status == "sent":
        return f"{prefix}sent" + (f" (refused: {d.last_error})" if d.last_error else "")
    if d.status == "replaced":
        return f"{prefix}{d.last_error}"
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


def _retry(args: argparse.Namespace, config: Any) -> int:
    """``digests retry ID``: its unsent deliveries, to the alert's current targets; a line for each."""
    import asyncio

    from monitor.errors import UsageError

    with instance_lock(config):
        store = open_store(config)
        try:
            dispatcher = make_dispatcher(config, store)
            plan = dispatcher.retry(args.id)
            if plan is None:
                raise UsageError(f"no digest has the id '{args.id}'", hint="`advisory-monitor digests` lists them")
            outcomes = asyncio.run(dispatcher.deliver_due(digest_id=plan.record.id)) if plan.sends else []
        finally:
            store.close()
    results = {r.target: r for o in outcomes for r in o.results if r.target is not None}
    if all(step.action == "sent" for step in plan.steps):
        emit(f"digest {plan.record.id}: every delivery was sent already")
        return 0
    for step in plan.steps:
        line = step.line(plan.record.id, results)
        (sys.stderr if step.failed(results) else sys.stdout).write(escape_line(line) + "\n")
    return 1 if args.strict and any(step.failed(results) for step in plan.steps) else 0


def cmd_digests(args: argparse.Namespace) -> int:
    from monitor.errors import UsageError
    from monitor.store import Outbox

    if args.action in ("show", "retry") and not args.id:
        raise UsageError(f"digests {args.action} needs a digest id", hint="`advisory-monitor digests` lists them")
    config = load(args, delivering=args.action == "retry")
    if args.action == "retry":
        return _retry(args, config)
    store = open_store(config)
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
            emit(json.dumps(_digest_json(record, entries), ensure_ascii=False))
            continue
        states = ", ".join(_delivery_state(d) for d in record.deliveries)
        emit(f"{record.id}  {record.created_at:%Y-%m-%d %H:%M}  {record.alert}  "
              f"{record.item_count} item{'s' if record.item_count != 1 else ''}  {states}")
        if args.action == "show":
            emit(f"  subject: {record.subject}")
            for d in record.deliveries:
                emit(f"  {d.label}: {_delivery_state(d, kind=False)}")
            for item in entries:
                emit(f"  - {item.title}" + (f" <{item.url}>" if item.url else ""))
    return 0
