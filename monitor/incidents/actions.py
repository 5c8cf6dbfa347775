"""Incidents stage: what people do to incidents: mute (for a while, or for one alert), acknowledge,
close, merge and split. Each action reads the incident again inside the grouping transaction
(serialised with grouping and with every other action), so two shells muting one incident at once
end in one recorded state, and each action is written to the incident's timeline with who and when.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from monitor.errors import UsageError
from monitor.incidents.grouping import Grouper, stored
from monitor.incidents.summary import summarise
from monitor.store import EventRow, GroupingSession, IncidentRow, Incidents

HINT = "`advisory-monitor incidents` lists them"


def effective_state(incident: IncidentRow, now: datetime) -> str:
    """A mute whose time is over reads as open."""
    if incident.state == "muted" and incident.muted_until is not None and incident.muted_until <= now:
        return "open"
    return incident.state


class IncidentActions:
    def __init__(self, incidents: Incidents, grouper: Grouper,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.incidents = incidents
        self.grouper = grouper
        self.clock = clock

    def resolve(self, prefix: str) -> IncidentRow:
        """The incident whose id is ``prefix`` or uniquely starts with it (else a UsageError)."""
        found = self.incidents.find(prefix)
        exact = [i for i in found if i.id == prefix]
        if exact:
            return exact[0]
        if not found:
            raise UsageError(f"no incident has the id '{prefix}'", hint=HINT)
        if len(found) > 1:
            raise UsageError(f"'{prefix}' starts several incident ids: {', '.join(i.id for i in found)}", hint=HINT)
        return found[0]

    def mute(self, prefix: str, actor: str, *, until: datetime | None = None, alert: str | None = None,
             unless_escalated: bool = False) -> IncidentRow:
        """Mute: nothing is sent (for ``alert`` only, until ``until``); ``unless_escalated``: an
        escalation after the mute is sent all the same."""
        detail: dict[str, object] = {"until": until.isoformat() if until else None, "alert": alert,
                                     "unless": unless_escalated}
        revision = self.resolve(prefix).revision if unless_escalated else None
        return self._set(prefix, actor, "mute", detail, state="muted", muted_until=until, muted_alert=alert,
                         muted_revision=revision)

    def unmute(self, prefix: str, actor: str) -> IncidentRow:
        return self._set(prefix, actor, "unmute", {}, state="open", muted_until=None, muted_alert=None,
                         muted_revision=None)

    def acknowledge(self, prefix: str, actor: str) -> IncidentRow:
        return self._set(prefix, actor, "ack", {}, acknowledged=True)

    def close(self, prefix: str, actor: str) -> IncidentRow:
        return self._set(prefix, actor, "close", {}, state="closed")

    def _set(self, prefix: str, actor: str, kind: str, detail: dict[str, object], **values: object) -> IncidentRow:
        incident_id = self.resolve(prefix).id
        with self.incidents.grouping() as session:
            row = self._live(session, incident_id)
            for key, value in values.items():
                setattr(row, key, value)
            row.changed_by, row.changed_at = actor, self.clock()
            session.save(row)
            session.record(EventRow(row.id, row.changed_at, kind, actor, detail))
            return row

    def merge(self, first: str, second: str, actor: str, *, force: bool = False) -> IncidentRow:
        """Merge two incidents into the one reported first. Different countries need ``force``."""
        ids = [self.resolve(first).id, self.resolve(second).id]
        if ids[0] == ids[1]:
            raise UsageError(f"cannot merge incident {ids[0]} with itself", hint=HINT)
        with self.incidents.grouping() as session:
            rows = [self._live(session, i) for i in ids]
            if not set(rows[0].countries) & set(rows[1].countries) and not force:
                raise UsageError(f"incidents {ids[0]} ({', '.join(rows[0].countries)}) and {ids[1]} "
                                 f"({', '.join(rows[1].countries)}) are in different countries",
                                 hint="add --force to merge them anyway")
            survivor, other = sorted(rows, key=lambda r: (r.first_seen, r.id))
            self.grouper.absorb(session, survivor.id, other, actor)
            return self._resummarise(session, survivor)

    def split(self, prefix: str, item_ids: Sequence[str], actor: str) -> IncidentRow:
        """Move the given reports out of the incident into a new one."""
        incident_id = self.resolve(prefix).id
        with self.incidents.grouping() as session:
            row = self._live(session, incident_id)
            reports = session.reports(incident_id)
            members = {r.item_id for r in reports}
            strangers = sorted(set(item_ids) - members)
            if strangers:
                raise UsageError(f"incident {incident_id} has no report {', '.join(strangers)}",
                                 hint=f"`advisory-monitor incidents show {incident_id}` lists its reports")
            if set(item_ids) == members:
                raise UsageError("splitting every report off would leave the incident empty", hint="close it instead")
            new_id = "i" + hashlib.sha256(("split\0" + "\0".join(sorted(item_ids))).encode()).hexdigest()[:11]
            session.move_reports(list(item_ids), new_id)
            moved = [stored(r) for r in reports if r.item_id in item_ids]
            split = summarise(moved, None, new_id)
            split.changed_by, split.changed_at = actor, self.clock()
            session.save(split)
            now = self.clock()
            session.record(EventRow(new_id, now, "split", actor, {"from": incident_id, "items": sorted(item_ids)}))
            session.record(EventRow(incident_id, now, "split", actor, {"into": new_id, "items": sorted(item_ids)}))
            self._resummarise(session, row)
            return split

    def _live(self, session: GroupingSession, incident_id: str) -> IncidentRow:
        row = session.incident(incident_id)
        if row is None or row.state == "merged":
            into = f" (merged into {row.merged_into})" if row is not None else ""
            raise UsageError(f"incident {incident_id} cannot be changed{into}", hint=HINT)
        return row

    def _resummarise(self, session: GroupingSession, row: IncidentRow) -> IncidentRow:
        after = summarise([stored(r) for r in session.reports(row.id)], row, row.id)
        session.save(after)
        return after
