"""The pipeline's commands: ``once``, ``run``, ``ingest``, and ``items`` to list what was stored."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from monitor.cli.common import emit, instance_lock, load, open_store, print_source_reports
from monitor.errors import UsageError

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.service.pipeline import Pipeline

T = TypeVar("T")


def _with_pipeline(args: argparse.Namespace, work: Callable[[Pipeline], Coroutine[Any, Any, T]], *,
                   delivering: bool) -> T:
    """Run one coroutine of a Pipeline on the config's store, under the instance lock."""
    import asyncio

    from monitor.service.pipeline import Pipeline

    config = load(args, delivering=delivering)
    with instance_lock(config):
        store = open_store(config)
        pipeline = Pipeline(config, store)
        try:
            return asyncio.run(work(pipeline))
        finally:
            pipeline.close()
            store.close()


def cmd_ingest(args: argparse.Namespace) -> int:
    reports = _with_pipeline(args, lambda pipeline: pipeline.ingest(args.source or None), delivering=False)
    print_source_reports(reports)
    stored = sum(r.counts.new + r.counts.changed for r in reports if r.ok)
    if stored:
        sys.stderr.write("note: what was stored is not classified yet, so `alerts test` and `digest preview` do "
                         "not see it; `advisory-monitor once` (or the daemon) classifies and delivers\n")
    return 1 if args.strict and any(not r.ok for r in reports) else 0


def cmd_once(args: argparse.Namespace) -> int:
    report = _with_pipeline(args, lambda pipeline: pipeline.run_once(force=not args.due), delivering=True)
    print_source_reports(report.sources)
    emit(f"classified {report.classified} item{'s' if report.classified != 1 else ''}")
    for digest in report.digests:
        # Like a failed source: a delivery that failed is reported on stderr (and kept, and retried).
        (sys.stderr if digest.failed else sys.stdout).write(f"{digest}\n")
    if any(d.template_failed for d in report.digests):
        return 2  # an alert's template is broken: the config needs fixing (the other alerts went)
    failed = report.failures + sum(1 for d in report.digests if d.failed)
    return 1 if args.strict and failed else 0


def cmd_run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from monitor.service.daemon import Daemon

    return Daemon(Path(args.config)).run()


def _item_json(item: Any, cls: Any, incident: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": item.id, "source": item.source, "title": item.title, "url": item.url,
        "published": item.published.isoformat() if item.published else None,
        "first_seen": item.first_seen.isoformat(), "guid": item.guid, "author": item.author,
        "categories": item.categories, "version": item.version, "text": item.text, "incident_id": incident,
    }
    if item.points:
        data["points"] = [p.model_dump() for p in item.points]
    if cls is not None:
        data["countries"] = cls.countries
        data["threats"] = [t.type for t in cls.threats]
        data["severity"] = cls.severity.value
    return data


def _filters(config: Config, regions: list[str] | None, threats: list[str] | None) -> tuple[list[str], list[str]]:
    """``--region`` and ``--threat`` as ids, read as alert rules read them (names, any case); an
    unknown or ambiguous one is a usage error: an empty list would look like a quiet day."""
    if not regions and not threats:
        return [], []
    from monitor.alerts.names import Unresolved, region_id, threat_id
    from monitor.classify import load_engine

    engine = load_engine(config.rules)
    found = [("--region", name, region_id(engine.gazetteer, name)) for name in regions or ()]
    found += [("--threat", name, threat_id(engine.threat_types, name)) for name in threats or ()]
    for option, name, result in found:
        if isinstance(result, Unresolved):
            raise UsageError(f"{option} {name}: {result.message}",
                             f"did you mean '{result.suggestion}'?" if result.suggestion else None)
    ids = {option: [str(result) for o, _, result in found if o == option] for option in ("--region", "--threat")}
    return ids["--region"], ids["--threat"]


def cmd_items(args: argparse.Namespace) -> int:
    from monitor.store import Incidents

    config = load(args)
    regions, threats = _filters(config, args.region, args.threat)
    store = open_store(config)
    try:
        items = store.list_items(source=args.source, since=args.since, region=regions, threat=threats,
                                 limit=args.limit)
        classes = store.classifications([i.id for i in items])
        incidents = Incidents(store).incident_of([i.id for i in items]) if args.format == "json" else {}
    finally:
        store.close()
    for item in items:
        cls = classes.get(item.id)
        if args.format == "json":
            emit(json.dumps(_item_json(item, cls, incidents.get(item.id)), ensure_ascii=False))
        else:
            when = (item.published or item.first_seen).strftime("%Y-%m-%d %H:%M")
            tags = ""
            if cls is not None:
                tags = f"  [{','.join(cls.countries) or '-'}; {','.join(t.type for t in cls.threats) or '-'}; " \
                       f"{cls.severity.value}]"
            emit(f"{when}  {item.source:<16} {item.title}{tags}")
    return 0
