"""Dispatch stage: from classified items to sent digests, exactly once.

One pass (``Dispatcher.run``):
1. match every alert rule against the classified items in its ``max_age`` window and drop the
   items the alert has claimed before. A dispatcher looks at the whole window once (its first
   pass), then keeps the matches still waiting and reads only what was classified since its last
   pass (classification order is a counter in the store), so a pass costs what is new, not what
   is stored. What it keeps is a cache: the claims in the outbox stay the authority, and a new
   dispatcher (a restart, a reload) starts with the whole window again;
2. for each alert that is due (its schedule, or ``force`` for ``once``; quiet hours hold all but
   urgent items), take up to ``max_items`` of the oldest waiting matches, render the digest, and
   write it with its (alert, item) claims and one pending delivery per target in ONE transaction;
3. hand every due delivery (new ones and earlier failures) to the delivery stage's lanes
   (monitor/deliver/lanes.py), which send them and record each result after the send.

The rendered digest is stored with the claim, so a retry, or a resend after a crash between claim
and send, sends the same digest id with the same content: it is never re-built with other items.
"""

from __future__ import annotations

import difflib
import logging
import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from monitor.alerts import DEFAULT_THREATS, ItemFacts, Match, Matcher, compile_rules
from monitor.classify.engine import Engine
from monitor.config import AlertRule, Config, OfficialSource
from monitor.deliver import DigestClaims, DigestOutcome, Lanes, Target, target_key, target_label
from monitor.digest import is_due, quiet_until, render
from monitor.dispatch.checks import HeldAlerts, check_templates, template_errors
from monitor.dispatch.incidents import collapse
from monitor.dispatch.retry import RetryPlan, plan_retry
from monitor.dispatch.travel import Travel
from monitor.errors import MonitorError, TemplateError, UsageError
from monitor.models import Classification, Digest, DigestEntry, IncidentNote, Item, RenderedDigest, Severity
from monitor.store import AdvisoryLevels, DeliveryRecord, DigestRecord, Incidents, Outbox, Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------------------
# What an alert matched and would send

@dataclass
class Backtested:
    """An item a rule matches, and the digest that carried it to the alert, if one did."""

    match: Match
    item: Item
    classification: Classification | None
    digest_id: str | None


@dataclass
class Selection:
    """What an alert would send now: the entries, and what waits."""

    alert: AlertRule
    matches: list[Match]
    carried: int = 0
    held: int = 0
    held_until: datetime | None = None
    # Shown item id -> the incident its entry stands for (monitor/dispatch/incidents.py).
    notes: dict[str, IncidentNote] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------

class Dispatcher:
    """Matches, builds and claims digests for one config and one store; its lanes send them."""

    def __init__(self, config: Config, store: Store, *, engine: Engine | None = None, clock: Clock = utcnow,
                 rng: random.Random | None = None, claims: DigestClaims | None = None) -> None:
        self.store = store
        self.outbox = Outbox(store)
        self.incidents = Incidents(store)
        self.clock = clock
        # Without an engine (tests, tools) region ids are taken as written and the shipped threat types hold.
        resolver = engine.gazetteer if engine is not None else None
        threat_types = tuple(engine.threat_types) if engine is not None and engine.threat_types else DEFAULT_THREATS
        # Trips become alert rules here (their folder is read now); sites and trips: monitor/dispatch/travel.py.
        self.travel = Travel(config, store, resolver, threat_types)
        config = self.config = self.travel.config
        self.matcher: Matcher = compile_rules(config, resolver, threat_types)
        self.travel.bind(self.matcher)
        self.alerts = {a.name: a for a in config.alerts}
        # Several workers on one database (monitor/service/workers.py): a digest's sends are claimed first.
        self.rng = rng or random.Random()
        self.lanes = Lanes(config, self.outbox, clock=clock, rng=self.rng, claims=claims)
        # Alerts whose templates fail on a sample digest are held from the start (checks.py).
        self.held = HeldAlerts(clock, self.rng)
        for name, error in template_errors(config.alerts, config.templates, self.travel.is_trip).items():
            self.held.hold(name, error, sample=True)
        self._ancestors = resolver.ancestors if resolver is not None else None
        self._expanded: dict[frozenset[str], frozenset[str]] = {}
        # alert -> item id -> match, for matched items not claimed yet (inside max_age), and the
        # point of classification order they are up to date with (None: look at the whole window).
        self._waiting: dict[str, dict[str, Match]] = {}
        self._mark: int | None = None

    # -- matching ------------------------------------------------------------------------------
    def facts(self, now: datetime, alerts: Sequence[AlertRule] | None = None, *,
              ignore_age: bool = False, after: int | None = None) -> list[ItemFacts]:
        """The classified items some alert may still want (the widest max_age window); with
        ``after``, only those classified after that point of classification order."""
        alerts = list(self.config.alerts if alerts is None else alerts)
        ages = [a.max_age for a in alerts]
        since = None if ignore_age or not ages or None in ages else now - max(a for a in ages if a is not None)
        rows = self.outbox.classified_facts(since, with_text=self.matcher.needs_text, after=after)
        official = self._official_facts(since, None if after is None else [r.id for r in rows])
        breaking = self.incidents.breaking_items([r.id for r in rows]) if self.matcher.needs_breaking else set()
        facts = []
        for r in rows:
            level, change = official.get(r.id, (None, None))
            facts.append(ItemFacts(r.id, r.source, self._with_ancestors(r.regions), r.threats,
                                   Severity.parse(r.severity).rank, r.published or r.first_seen, r.text,
                                   level=level, advisory_change=change, seen=r.first_seen,
                                   breaking=r.id in breaking))
        return self.travel.locate(facts)

    def _official_facts(self, since: datetime | None,
                        ids: Sequence[str] | None = None) -> dict[str, tuple[int, str | None]]:
        """item id -> (level, change kind) of the official sources' items (advisory_change, min_level)."""
        names = [s.name for s in self.config.sources if isinstance(s, OfficialSource)]
        if not names or (ids is not None and not ids):
            return {}
        return AdvisoryLevels(self.store).item_facts(names, since, ids)

    def _with_ancestors(self, regions: frozenset[str]) -> frozenset[str]:
        """The stored index holds ancestors already; this keeps the hierarchy right for rows
        indexed by older rules, at the cost of one set lookup per distinct region set."""
        if self._ancestors is None:
            return regions
        found = self._expanded.get(regions)
        if found is None:
            found = regions.union(*(self._ancestors(r) for r in regions))
            self._expanded[regions] = found
        return found

    def matches(self, now: datetime, alerts: Sequence[AlertRule] | None = None, *,
                ignore_age: bool = False) -> dict[str, list[Match]]:
        alerts = list(self.config.alerts if alerts is None else alerts)
        found = self.matcher.match(self.facts(now, alerts, ignore_age=ignore_age), [a.name for a in alerts])
        if not ignore_age:
            for alert in alerts:
                if alert.max_age is not None:
                    oldest = now - alert.max_age
                    found[alert.name] = [m for m in found[alert.name] if m.dated >= oldest]
        return found

    def waiting(self, now: datetime) -> dict[str, list[Match]]:
        """alert -> its matches not claimed yet, inside its max_age window (kept between passes)."""
        alerts = self.config.alerts
        mark = self.store.classification_mark()  # read first: a later classification is read again, never missed
        if self._mark is None:
            found = self.matches(now)
            waiting: dict[str, dict[str, Match]] = {}
            for alert in alerts:
                claimed = self.outbox.claimed(alert.name, [m.item_id for m in found[alert.name]])
                waiting[alert.name] = {m.item_id: m for m in found[alert.name] if m.item_id not in claimed}
            self._waiting, self._mark = waiting, mark
        elif mark != self._mark:
            facts = self.facts(now, after=self._mark)
            # A reclassified item is matched afresh: its old matches go first.
            for table in self._waiting.values():
                for fact in facts:
                    table.pop(fact.id, None)
            found = self.matcher.match(facts, [a.name for a in alerts])
            for alert in alerts:
                new = found[alert.name]
                claimed = self.outbox.claimed(alert.name, [m.item_id for m in new]) if new else {}
                table = self._waiting.setdefault(alert.name, {})
                table.update((m.item_id, m) for m in new if m.item_id not in claimed)
            self._mark = mark
        for alert in alerts:
            if alert.max_age is not None:
                oldest = now - alert.max_age
                table = self._waiting[alert.name]
                for item_id in [i for i, m in table.items() if m.dated < oldest]:
                    del table[item_id]
        return {a.name: list(self._waiting[a.name].values()) for a in alerts}

    def select(self, alert: AlertRule, matches: list[Match], now: datetime, *, force: bool,
               last_sent: datetime | None) -> Selection | None:
        """The matches that go in the alert's next digest now, or None when it is not due."""
        claimed = self.outbox.claimed(alert.name, [m.item_id for m in matches])
        kept = self._waiting.get(alert.name, {})
        for item_id in claimed:  # claimed by another worker since it was matched: no longer waiting
            kept.pop(item_id, None)
        waiting = sorted((m for m in matches if m.item_id not in claimed), key=lambda m: (m.dated, m.item_id))
        # One entry per incident to tell; reports of an incident the alert already has, or that is
        # muted or closed, leave the waiting set (they tell nothing new).
        collapsed = collapse(alert.name, waiting, self.incidents, self.outbox, now)
        for item_id in collapsed.quiet:
            kept.pop(item_id, None)
        waiting = collapsed.matches
        if not waiting:
            return None
        quiet_end = quiet_until(alert.quiet_hours, now)
        held = 0
        if quiet_end is not None:
            urgent = Severity.parse(alert.urgent_severity).rank if alert.urgent_severity else None
            sendable = [m for m in waiting if urgent is not None and m.severity >= urgent]
            held = len(waiting) - len(sendable)
            waiting = sendable
            # Urgent items go at once, whatever the schedule; the rest wait for the quiet hours' end.
            if not waiting:
                return Selection(alert, [], held=held, held_until=quiet_end)
        elif not force and not is_due(alert, last_sent, waiting[0].dated, now):
            return None
        chosen = waiting[:alert.max_items]
        return Selection(alert, chosen, carried=len(waiting) - len(chosen), held=held,
                         held_until=quiet_end if held else None, notes=collapsed.notes)

    # -- building ------------------------------------------------------------------------------
    def build(self, selection: Selection, now: datetime) -> tuple[Digest, RenderedDigest]:
        """The Digest of a selection and its rendering (reads items; writes nothing)."""
        ids = [m.item_id for m in selection.matches]
        items = {i.id: i for i in self.store.list_items(ids=ids)}
        classes = self.store.classifications(ids)
        entries = [DigestEntry(item=items[m.item_id], classification=classes[m.item_id],
                               matched_regions=list(m.regions), matched_threats=list(m.threats),
                               matched_keywords=list(m.keywords), why=m.why,
                               incident=selection.notes.get(m.item_id))
                   for m in selection.matches if m.item_id in items and m.item_id in classes]
        digest = Digest(id=new_digest_id(now), alert=selection.alert.name, created_at=now,
                        timezone=selection.alert.timezone, entries=entries)
        return digest, (self.travel.render(digest, selection.alert)
                        or render(digest, selection.alert, templates=self.config.templates))

    def claim(self, selection: Selection, digest: Digest, rendered: RenderedDigest) -> DigestRecord | None:
        record = DigestRecord(
            id=digest.id, alert=digest.alert, created_at=digest.created_at, item_count=len(digest.entries),
            carried=selection.carried, subject=rendered.subject, rendered=rendered.model_dump(mode="json"),
            deliveries=[DeliveryRecord(digest.id, target_key(t), t.kind, target_label(t),
                                       next_attempt=digest.created_at)
                        for t in _unique_targets(selection.alert)],
            item_ids=list(dict.fromkeys(i for e in digest.entries
                                        for i in (e.item.id, *(e.incident.items if e.incident else ())))),
            incident_sends=[(e.incident.id, e.incident.revision) for e in digest.entries if e.incident])
        return record if self.outbox.claim_digest(record) else None

    # -- one pass ------------------------------------------------------------------------------
    async def run(self, *, force: bool = False) -> list[DigestOutcome]:
        """Build and claim the due digests, then send every due delivery.

        ``force`` (the ``once`` command) sends every alert's waiting digest whatever its schedule
        says and retries failed deliveries without waiting out their backoff. Quiet hours still
        hold: they are a promise to the reader, not a schedule.
        """
        outcomes, notes = self.claim_due(force=force)
        await self.deliver_due(outcomes, force=force)
        return [*outcomes.values(), *notes]

    def claim_due(self, *, force: bool = False) -> tuple[dict[str, DigestOutcome], list[DigestOutcome]]:
        """Match, build and claim the digests that are due (blocking: the daemon runs it in a worker).

        Returns the new digests' outcomes by digest id (to be filled by ``deliver_due``) and the
        lines about alerts that held items back or could not build their digest.
        """
        now = self.clock()
        outcomes: dict[str, DigestOutcome] = {}
        notes: list[DigestOutcome] = []
        last = self.outbox.last_digest_times([a.name for a in self.config.alerts])
        found = self.waiting(now)
        for alert in self.config.alerts:
            held = self.held.waiting(alert.name, now)
            if held is not None:
                # Its template failed: its items wait for the backoff's end. Said once per `once` run,
                # and logged once by the daemon (not on every pass).
                if force:
                    notes.append(DigestOutcome(alert.name, error=held.note(len(found[alert.name]), now, retry=False),
                                               template_failed=True))
                elif not held.announced:
                    log.error("%s: %s", alert.name, held.note(None, now))
                held.announced = True
                continue
            selection = self.select(alert, found[alert.name], now, force=force, last_sent=last.get(alert.name))
            if selection is None:
                continue
            if not selection.matches:
                # Said once per `once` run; the daemon's frequent passes would only repeat it.
                if force:
                    notes.append(DigestOutcome(alert.name, note=_held_note(selection)))
                log.debug("alert %s: %d items held for quiet hours", alert.name, selection.held)
                continue
            built = self._build_or_hold(selection, now, len(found[alert.name]), notes, force=force)
            if built is None or not built[0].entries:
                continue
            digest, rendered = built
            if self.claim(selection, digest, rendered) is None:
                # Another writer (a second worker) claimed some of these first: they leave the
                # waiting set, the rest wait for the next pass.
                ids = [m.item_id for m in selection.matches]
                for item_id in self.outbox.claimed(alert.name, ids):
                    self._waiting[alert.name].pop(item_id, None)
                continue
            for entry in digest.entries:
                for item_id in (entry.item.id, *(entry.incident.items if entry.incident else ())):
                    self._waiting[alert.name].pop(item_id, None)
            reason = "first digest" if alert.name not in last else "new items"
            log.info("alert %s: digest %s claims %d items (%s)", alert.name, digest.id, len(digest.entries), reason)
            outcome = DigestOutcome(alert.name, digest.id, len(digest.entries), selection.carried)
            if selection.held:
                outcome.note = _held_note(selection)
            outcomes[digest.id] = outcome
        return outcomes, notes

    def _build_or_hold(self, selection: Selection, now: datetime, waiting: int, notes: list[DigestOutcome], *,
                       force: bool) -> tuple[Digest, RenderedDigest] | None:
        """Build the selection's digest; when the alert's template fails, hold the alert (its items
        stay unclaimed) and add the line that says so to ``notes``."""
        alert = selection.alert
        before = self.held.get(alert.name)
        sample = False
        try:
            if before is not None and before.sample:
                sample = True  # held since it failed on the sample: that must render first
                check_templates(alert, self.config.templates, shipped_only=self.travel.is_trip(alert))
                sample = False
            built = self.build(selection, now)
        except TemplateError as exc:  # this alert's fault: it waits, the others go
            held = self.held.hold(alert.name, exc, sample=sample)
            held.announced = True  # by its line: `once` prints it, the daemon logs it
            notes.append(DigestOutcome(alert.name, error=held.note(waiting, now, retry=not force),
                                       template_failed=True))
            return None
        except MonitorError as exc:  # the store failed reading its items: the next pass tries again
            log.error("alert %s: could not build its digest: %s", alert.name, exc)
            notes.append(DigestOutcome(alert.name, error=f"digest not built: {exc}"))
            return None
        if self.held.release(alert.name):
            log.info("alert %s: its template renders again; no longer held", alert.name)
        return built

    async def deliver_due(self, outcomes: dict[str, DigestOutcome] | None = None, *, force: bool = False,
                          digest_id: str | None = None) -> list[DigestOutcome]:
        """Send every pending delivery that is due (all pending ones when ``force``; only those of
        one digest with ``digest_id``)."""
        return await self.lanes.send_due(outcomes, force=force, digest_id=digest_id)

    # -- looking without sending ---------------------------------------------------------------
    def alert(self, name: str) -> AlertRule:
        """The alert of that name, or a UsageError naming the closest one."""
        if name in self.alerts:
            return self.alerts[name]
        close = difflib.get_close_matches(name, list(self.alerts), n=1, cutoff=0.5)
        known = ", ".join(self.alerts) or "none configured"
        raise UsageError(f"no alert is named '{name}'" + (f" (did you mean '{close[0]}'?)" if close else ""),
                         hint=f"alerts in the config: {known}")

    def backtest(self, name: str) -> list[Backtested]:
        """Every stored item the rule matches (whatever its age), oldest first, and where it went."""
        alert = self.alert(name)
        found = sorted(self.matches(self.clock(), [alert], ignore_age=True)[alert.name],
                       key=lambda m: (m.dated, m.item_id))
        ids = [m.item_id for m in found]
        items = {i.id: i for i in self.store.list_items(ids=ids)}
        classes = self.store.classifications(ids)
        sent = self.outbox.claimed(alert.name, ids)
        return [Backtested(m, items[m.item_id], classes.get(m.item_id), sent.get(m.item_id))
                for m in found if m.item_id in items]

    def preview(self, name: str) -> tuple[Selection, RenderedDigest | None]:
        """What the alert would send now (schedule aside, quiet hours and max_items kept); no claim."""
        alert = self.alert(name)
        held = self.held.get(name)
        if held is not None and held.sample:
            raise held.error
        now = self.clock()
        selection = self.select(alert, self.matches(now, [alert])[alert.name], now, force=True, last_sent=None)
        if selection is None:
            return Selection(alert, []), None
        if not selection.matches:
            return selection, None
        return selection, self.build(selection, now)[1]

    def retry(self, digest_id: str) -> RetryPlan | None:
        """Make a digest's unsent deliveries due now, to the alert's current targets
        (``digests retry``; monitor/dispatch/retry.py); None when no digest has that id."""
        record = self.outbox.digest(digest_id)
        if record is None:
            return None
        alert = self.alerts.get(record.alert)
        if alert is None:
            raise UsageError(f"digest {record.id} is of alert '{record.alert}', which the config no longer has: "
                             "nothing was sent", hint="to send it, put the alert back in the config and retry")
        now = self.clock()
        plan = plan_retry(record, _unique_targets(alert), now)
        self.outbox.retry_digest(record.id, now, due=plan.due, replaced=plan.replaced, added=plan.added)
        return plan


def new_digest_id(now: datetime) -> str:
    """Sortable by time (folders of the file target list in order), unique by its random tail."""
    return f"{now.astimezone(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(4)}"


def _unique_targets(alert: AlertRule) -> list[Target]:
    seen: dict[str, Target] = {}
    for target in alert.deliver:
        seen.setdefault(target_key(target), target)
    return list(seen.values())


def _held_note(selection: Selection) -> str:
    until = ""
    quiet = selection.alert.quiet_hours
    if selection.held_until is not None and quiet is not None:
        until = f" until {selection.held_until.astimezone(ZoneInfo(quiet.timezone)):%Y-%m-%d %H:%M} {quiet.timezone}"
    return f"{selection.held} item{'s' if selection.held != 1 else ''} held for quiet hours{until}"
