"""Several workers on one PostgreSQL database group at once, and two shells mute one incident at
once: grouping takes turns (an advisory lock), so every report lands in exactly one incident and
the same incidents come out as from one worker; the mutes end in one recorded state."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from monitor.classify import Engine
from monitor.config import IncidentsConfig
from monitor.incidents import Grouper, IncidentActions
from monitor.store import Incidents, Store
from tests.incidents.reports import REPORTS
from tests.incidents.test_grouping import classified, expected, partition, save


def test_workers_grouping_at_once_file_each_report_once(engine: Engine, pg_url: str) -> None:
    keys = list(REPORTS)
    pairs = classified(engine, keys)
    store = Store.open(pg_url)
    save(store, pairs)
    stores = [Store.open(pg_url) for _ in range(4)]

    def work(n: int) -> int:
        # Each worker brings the items in its own order, and all of them.
        order = pairs[n:] + pairs[:n]
        return sum(Grouper(Incidents(stores[n]), IncidentsConfig()).group([p]).grouped for p in order)

    with ThreadPoolExecutor(4) as pool:
        filed = sum(pool.map(work, range(4)))
    # Every report with a place and a threat was filed once, by whichever worker came first.
    assert filed == len(Incidents(store).incident_of(keys)) == len(keys)
    assert partition(store) == expected(keys)
    for s in (*stores, store):
        s.close()


def test_two_shells_muting_at_once_end_in_one_recorded_state(engine: Engine, pg_url: str) -> None:
    pairs = classified(engine, ["istiklal-wire", "istiklal-ap"])
    store = Store.open(pg_url)
    save(store, pairs)
    incidents = Incidents(store)
    Grouper(incidents, IncidentsConfig()).group(pairs)
    [incident] = incidents.listing()
    until = datetime(2026, 3, 9, tzinfo=UTC)
    stores = [Store.open(pg_url) for _ in range(2)]

    def mute(n: int) -> None:
        own = Incidents(stores[n])
        actions = IncidentActions(own, Grouper(own, IncidentsConfig()))
        actions.mute(incident.id, f"shell-{n}", until=until + timedelta(hours=n))

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(mute, range(2)))
    [after] = incidents.listing()
    mutes = [e for e in incidents.events(incident.id) if e.kind == "mute"]
    assert len(mutes) == 2
    last = mutes[-1]
    assert after.state == "muted" and after.changed_by == last.actor
    assert after.muted_until == until + timedelta(hours=int(last.actor[-1]))
    for s in (*stores, store):
        s.close()
