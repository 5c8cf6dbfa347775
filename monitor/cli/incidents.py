"""``advisory-monitor incidents``: list incidents, show one, and mute, acknowledge, close, merge or
split them (monitor/incidents/). Who did what is the local user's name unless ``--by`` says."""

from __future__ import annotations

import argparse
import getpass
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor.cli.common import emit, load, open_store, when

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.errors import UsageError
    from monitor.store import IncidentRow, Incidents, Store

ACTIONS = ("list", "show", "mute", "unmute", "ack", "close", "merge", "split")


def cmd_incidents(args: argparse.Namespace) -> int:
    from monitor.errors import UsageError

    _check_arity(args, UsageError)
    config = load(args)
    store = open_store(config)
    try:
        if args.action == "list":
            _list(args, config, store)
        elif args.action == "show":
            _show(args, store)
        else:
            _change(args, config, store)
    finally:
        store.close()
    return 0


def _check_arity(args: argparse.Namespace, error: type[UsageError]) -> None:
    wanted = {"list": (0, 0), "merge": (2, 2), "split": (2, None)}.get(args.action, (1, 1))
    count = len(args.ids)
    if count < wanted[0] or (wanted[1] is not None and count > wanted[1]):
        shape = {"list": "no ids", "merge": "two incident ids", "split": "an incident id and item ids"}
        raise error(f"incidents {args.action} takes {shape.get(args.action, 'one incident id')}",
                    hint="`advisory-monitor incidents` lists them")


def _list(args: argparse.Namespace, config: Config, store: Store) -> None:
    from monitor.cli.cycle import _filters
    from monitor.incidents import effective_state
    from monitor.store import Incidents

    regions = _filters(config, args.region, None)[0] if args.region else None
    incidents = Incidents(store)
    now = datetime.now(UTC)
    rows = [r for r in incidents.listing(regions=regions, since=args.since)
            if args.state is None or effective_state(r, now) == args.state]
    if args.limit:
        rows = rows[:args.limit]
    for row in rows:
        if args.format == "json":
            emit(json.dumps(incident_json(incidents, row, now), ensure_ascii=False))
        else:
            flags = "".join((" BREAKING" if row.breaking else "", " ack" if row.acknowledged else ""))
            emit(f"{row.id}  {effective_state(row, now):<6} {when(row.last_seen)[:16]}  {row.severity:<8} "
                 f"{','.join(row.countries) or '-'}  {row.source_count} src  {row.title}{flags}")


def incident_json(incidents: Incidents, row: IncidentRow, now: datetime) -> dict[str, Any]:
    from monitor.incidents import effective_state

    reports = incidents.reports(row.id)
    return {"id": row.id, "title": row.title, "state": effective_state(row, now), "breaking": row.breaking,
            "countries": row.countries, "regions": row.regions, "threats": row.threats, "severity": row.severity,
            "first_seen": row.first_seen.isoformat(), "last_seen": row.last_seen.isoformat(),
            "sources": sorted({r.source for r in reports}), "items": [r.item_id for r in reports],
            "source_count": row.source_count, "casualties": row.casualties, "revision": row.revision,
            "acknowledged": row.acknowledged, "muted_until": row.muted_until.isoformat() if row.muted_until else None,
            "muted_alert": row.muted_alert, "muted_unless_escalated": row.muted_revision is not None,
            "merged_into": row.merged_into}


def _show(args: argparse.Namespace, store: Store) -> None:
    from monitor.incidents import IncidentActions
    from monitor.store import Incidents

    incidents = Incidents(store)
    row = IncidentActions(incidents, _grouper(incidents)).resolve(args.ids[0])
    now = datetime.now(UTC)
    data = incident_json(incidents, row, now)
    events = incidents.events(row.id)
    if args.format == "json":
        data["timeline"] = [{"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "detail": e.detail}
                            for e in events]
        emit(json.dumps(data, ensure_ascii=False))
        return
    flags = ("  BREAKING" if row.breaking else "") + ("  acknowledged" if row.acknowledged else "")
    emit(f"{row.id}  {data['state']}{flags}")
    emit(f"  {row.title}")
    emit(f"  {row.severity}; {', '.join(row.countries)} {', '.join(row.regions)}; {', '.join(row.threats)}; "
         f"deaths {row.casualties if row.casualties is not None else '-'}")
    emit(f"  {when(row.first_seen)} .. {when(row.last_seen)}; reported by {row.source_count} "
         f"source{'s' if row.source_count != 1 else ''}")
    for report in incidents.reports(row.id):
        emit(f"  - {report.item_id}  {when(report.at)[:16]}  {report.source}: {report.data.get('title', '')}")
    for event in events:
        emit(f"  {when(event.at)}  {event.kind:<9} {event.actor}  {json.dumps(event.detail, ensure_ascii=False)}")


def _grouper(incidents: Incidents) -> Any:
    from monitor.config import IncidentsConfig
    from monitor.incidents import Grouper

    return Grouper(incidents, IncidentsConfig())


def _change(args: argparse.Namespace, config: Config, store: Store) -> None:
    from monitor.errors import UsageError
    from monitor.incidents import Grouper, IncidentActions
    from monitor.store import Incidents

    incidents = Incidents(store)
    actions = IncidentActions(incidents, Grouper(incidents, config.incidents))
    actor = args.by or getpass.getuser()
    if args.alert and args.alert not in {a.name for a in config.alerts}:
        raise UsageError(f"no alert is named '{args.alert}'", hint="`advisory-monitor status` lists the alerts")
    if args.action == "mute":
        until = datetime.now(UTC) + args.duration if args.duration else None
        row = actions.mute(args.ids[0], actor, until=until, alert=args.alert, unless_escalated=args.unless_escalated)
        scope = (f" until {when(until)}" if until else "") + (f" for alert {args.alert}" if args.alert else "")
        emit(f"{row.id} muted{scope}")
    elif args.action == "unmute":
        emit(f"{actions.unmute(args.ids[0], actor).id} open")
    elif args.action == "ack":
        emit(f"{actions.acknowledge(args.ids[0], actor).id} acknowledged")
    elif args.action == "close":
        emit(f"{actions.close(args.ids[0], actor).id} closed")
    elif args.action == "merge":
        row = actions.merge(args.ids[0], args.ids[1], actor, force=args.force)
        emit(f"merged into {row.id} ({len(incidents.reports(row.id))} reports)")
    else:
        row = actions.split(args.ids[0], args.ids[1:], actor)
        emit(f"split into {row.id} ({len(args.ids) - 1} reports)")


def add_parser(c: Any) -> None:
    from monitor.cli.common import parse_since

    p = c.add("incidents", cmd_incidents, "incidents (one event across sources): list, show, mute, ack, close, "
              "merge, split", [c.listing])
    p.add_argument("action", nargs="?", choices=ACTIONS, default="list",
                   help="list (default); show ID; mute ID; unmute ID; ack ID; close ID; merge ID ID; split ID ITEM...")
    p.add_argument("ids", nargs="*", metavar="ID", help="incident id (or its unique start), then item ids for split")
    p.add_argument("--state", choices=("open", "muted", "closed"), help="only incidents in this state")
    p.add_argument("--region", action="append", metavar="ID", help="only incidents about this region (repeatable)")
    p.add_argument("--since", type=parse_since, metavar="WHEN", help="last reported since: ISO date or 24h, 7d")
    p.add_argument("--for", dest="duration", type=_duration, metavar="DURATION", help="mute: for this long (24h)")
    p.add_argument("--alert", metavar="NAME", help="mute: only for this alert")
    p.add_argument("--unless-escalated", action="store_true",
                   help="mute: an escalation after the mute (severity, toll, place, threat) is still sent")
    p.add_argument("--force", action="store_true", help="merge: even incidents in different countries")
    p.add_argument("--by", metavar="WHO", help="who does it (default: the local user)")


def _duration(value: str) -> Any:
    from monitor.support.durations import parse_duration

    try:
        return parse_duration(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a duration (30m, 24h, 7d), got {value!r}") from None
