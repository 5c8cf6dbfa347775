"""Grouping classified items into incidents, on real SQLite files and a real PostgreSQL server,
with the real classifier over multi-outlet reports (tests/incidents/reports.py)."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

import pytest

from monitor.classify import Engine
from monitor.config import IncidentsConfig
from monitor.incidents import Grouper
from monitor.models import Classification, Item
from monitor.store import Incidents, PollWrite, Store, StoredEntry
from tests.incidents.reports import EVENTS, REPORTS, at, item


def classified(engine: Engine, keys: list[str]) -> list[tuple[Item, Classification]]:
    out = []
    for key in keys:
        it = item(key)
        cls = engine.classify(it.title, it.text).model_copy(
            update={"item_id": it.id, "source": it.source, "rules_version": "test"})
        out.append((it, cls))
    return out


def save(store: Store, pairs: list[tuple[Item, Classification]]) -> None:
    for it, cls in pairs:
        store.write_poll(PollWrite(state=store.source_state(it.source), new=[StoredEntry(it, None, False)]))
        store.save_classifications([(cls, cls.countries + [r.id for r in cls.regions if r.role == "primary"])])


def partition(store: Store) -> set[frozenset[str]]:
    incidents = Incidents(store)
    return {frozenset(r.item_id for r in incidents.reports(i.id)) for i in incidents.listing()}


def expected(keys: list[str]) -> set[frozenset[str]]:
    return {frozenset(members & set(keys)) for members in EVENTS.values() if members & set(keys)}


def test_outlets_on_one_event_group_and_lookalikes_stay_apart(engine: Engine, store: Store) -> None:
    pairs = classified(engine, list(REPORTS))
    save(store, pairs)
    Grouper(Incidents(store), IncidentsConfig()).group(pairs)
    assert partition(store) == expected(list(REPORTS))


def test_any_order_and_any_batching_gives_the_same_incidents(engine: Engine, tmp_path: object) -> None:
    keys = list(REPORTS)
    pairs = dict(zip(keys, classified(engine, keys), strict=True))
    for seed in range(4):
        order = keys[:]
        random.Random(seed).shuffle(order)
        store = Store.open(f"sqlite:///{tmp_path}/order{seed}.db")
        save(store, [pairs[k] for k in order])
        grouper = Grouper(Incidents(store), IncidentsConfig())
        for k in order:  # one at a time, as a live feed brings them
            grouper.group([pairs[k]])
        assert partition(store) == expected(keys), order
        store.close()


def test_the_follow_up_with_a_higher_toll_escalates_the_incident(engine: Engine, store: Store) -> None:
    keys = ["istiklal-wire", "istiklal-ap", "istiklal-bbc", "istiklal-toll"]
    pairs = classified(engine, keys)
    save(store, pairs)
    incidents = Incidents(store)
    config = IncidentsConfig.model_validate({"breaking": {"sources": 3, "within": "90m"}})
    grouper = Grouper(incidents, config)
    grouper.group(pairs[:3])
    [first] = incidents.listing()
    assert (first.source_count, first.casualties, first.revision) == (3, 6, 0)
    assert first.breaking  # three outlets within 65 minutes
    counts = grouper.group(pairs[3:])
    assert counts.escalated == 1
    [after] = incidents.listing()
    assert after.id == first.id and after.casualties == 8 and after.revision == 1
    assert after.severity == "critical" and after.title.startswith("Istiklal bombing death toll rises to eight")
    escalated = [e for e in incidents.events(after.id) if e.kind == "escalated"]
    assert escalated[0].detail["changed"]["casualties"] == [6, 8]


def test_breaking_needs_the_sources_within_the_configured_time(engine: Engine, store: Store) -> None:
    pairs = classified(engine, ["istiklal-wire", "istiklal-ap", "istiklal-bbc"])
    save(store, pairs)
    Grouper(Incidents(store), IncidentsConfig()).group(pairs)  # default: 3 sources within 1h; these took 65m
    [incident] = Incidents(store).listing()
    assert not incident.breaking


def test_a_second_event_a_week_later_and_the_anniversary_are_new_incidents(engine: Engine, store: Store) -> None:
    keys = ["istiklal-wire", "kadikoy-bomb", "istiklal-anniversary"]
    pairs = classified(engine, keys)
    save(store, pairs)
    Grouper(Incidents(store), IncidentsConfig()).group(pairs)
    assert len(partition(store)) == 3


def test_a_report_retelling_an_earlier_event_as_background_does_not_join_it(engine: Engine, store: Store) -> None:
    keys = ["istiklal-wire", "istiklal-ap", "sariyer-shooting"]
    pairs = classified(engine, keys)
    save(store, pairs)
    Grouper(Incidents(store), IncidentsConfig()).group(pairs)
    assert partition(store) == {frozenset({"istiklal-wire", "istiklal-ap"}), frozenset({"sariyer-shooting"})}


def test_the_window_is_measured_from_the_incident_last_report(engine: Engine, store: Store) -> None:
    [(wire, wcls), (ap, acls)] = classified(engine, ["istiklal-wire", "istiklal-ap"])
    late = ap.model_copy(update={"published": wire.published + timedelta(hours=80)})  # type: ignore[operator]
    save(store, [(wire, wcls), (late, acls)])
    Grouper(Incidents(store), IncidentsConfig()).group([(wire, wcls), (late, acls)])
    assert len(partition(store)) == 2


def test_items_without_places_or_threats_never_form_incidents(engine: Engine, store: Store) -> None:
    it = Item(id="plain", source="wire", title="Markets close higher", text="Shares rose on Monday in Istanbul.",
              published=at("2026-03-08", 9), first_seen=at("2026-03-08", 9), content_hash="plain")
    cls = engine.classify(it.title, it.text).model_copy(update={"item_id": "plain", "rules_version": "test"})
    save(store, [(it, cls)])
    assert Grouper(Incidents(store), IncidentsConfig()).group([(it, cls)]).grouped == 0
    assert Incidents(store).listing() == []


def test_a_closed_incident_takes_no_more_reports(engine: Engine, store: Store) -> None:
    pairs = classified(engine, ["istiklal-wire", "istiklal-ap"])
    save(store, pairs)
    incidents = Incidents(store)
    grouper = Grouper(incidents, IncidentsConfig())
    grouper.group(pairs[:1])
    [first] = incidents.listing()
    with incidents.grouping() as session:
        first.state = "closed"
        session.save(first)
    grouper.group(pairs[1:])
    assert len(incidents.listing()) == 2


def test_grouping_the_same_items_twice_changes_nothing(engine: Engine, store: Store) -> None:
    pairs = classified(engine, ["istiklal-wire", "istiklal-ap"])
    save(store, pairs)
    grouper = Grouper(Incidents(store), IncidentsConfig())
    grouper.group(pairs)
    assert grouper.group(pairs).grouped == 0
    assert Incidents(store).incident_of(["istiklal-wire", "istiklal-ap"]).keys() == {"istiklal-wire", "istiklal-ap"}


def test_pairs_are_symmetric(engine: Engine) -> None:
    from monitor.incidents import report_of, same_event

    reports = [r for it, cls in classified(engine, list(REPORTS)) if (r := report_of(it, cls)) is not None]
    for a, b in itertools.combinations(reports, 2):
        assert same_event(a, b, IncidentsConfig()) == same_event(b, a, IncidentsConfig())


def test_like_attacks_in_different_towns_of_one_country_stay_apart(engine: Engine, store: Store) -> None:
    # One wording, different towns, same hour: known cities, a province-level place (Menaka) and towns
    # the gazetteer does not know (placed by the country alone) must not chain into one incident.
    towns = ["Mopti", "Gao", "Kayes", "Menaka", "Sevare", "Douentza", "Ansongo"]
    pairs = []
    for town in towns:
        title = f"Gunmen attack police post in {town}, Mali"
        it = Item(id=f"attack-{town.lower()}", source=f"outlet-{town.lower()}", title=title,
                  text=f"{title}. Two officers were killed in the attack, officials in Mali said.",
                  published=at("2026-03-08", 9), first_seen=at("2026-03-08", 9), content_hash=town)
        cls = engine.classify(it.title, it.text).model_copy(
            update={"item_id": it.id, "source": it.source, "rules_version": "test"})
        pairs.append((it, cls))
    save(store, pairs)
    Grouper(Incidents(store), IncidentsConfig()).group(pairs)
    assert len(partition(store)) == len(towns)


@pytest.mark.parametrize(("days", "incidents"), [((3, 15), 2), ((3, 3), 1)])
def test_reports_dated_to_different_days_are_different_events(engine: Engine, store: Store,
                                                              days: tuple[int, int], incidents: int) -> None:
    pairs = []
    for n, day in enumerate(days):
        title = "Gunmen kidnap aid workers near Mopti, Mali"
        it = Item(id=f"kidnap-{n}", source=f"outlet-{n}", title=title,
                  text=f"Armed men seized the workers from their vehicle near Mopti on the {day}th, officials "
                       "in Mopti said. A ransom demand is feared.",
                  published=at("2026-03-16", 9 + n), first_seen=at("2026-03-16", 9 + n), content_hash=f"k{n}")
        cls = engine.classify(it.title, it.text).model_copy(
            update={"item_id": it.id, "source": it.source, "rules_version": "test"})
        pairs.append((it, cls))
    save(store, pairs)
    Grouper(Incidents(store), IncidentsConfig()).group(pairs)
    assert len(partition(store)) == incidents
