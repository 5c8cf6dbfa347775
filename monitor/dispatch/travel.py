"""What the dispatcher asks of sites and trips, in one place (monitor/dispatch/dispatcher.py calls three hooks).

1. ``Travel(config, ...)`` reads the trips folder and gives the config with a ``trip:<name>``
   alert rule per trip (``.config``);
2. ``locate(facts)`` fills ``ItemFacts.near`` for the items within some site, when a rule names
   sites (nothing is read or computed otherwise);
3. ``render(digest, alert)`` renders a trip's digest grouped by leg (None for other alerts).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from monitor.alerts import Condition, ItemFacts, Matcher
from monitor.classify.gazetteer import Gazetteer
from monitor.config import AlertRule, Config
from monitor.digest import render_trip
from monitor.models import Digest, RenderedDigest
from monitor.store import AdvisoryLevels, Outbox, Store
from monitor.store.geometry import ItemGeometry
from monitor.travel.sites import SiteLocator, kinds_from
from monitor.travel.trips import (
    TravelPlan,
    alert_name,
    current_levels,
    day_text,
    leg_views,
    plan,
    targets,
    trip_name,
)

log = logging.getLogger(__name__)


class Travel:
    def __init__(self, config: Config, store: Store, resolver: Gazetteer | None,
                 threat_types: Iterable[str] = ()) -> None:
        self.store = store
        self.resolver = resolver
        self.plan: TravelPlan = plan(config, resolver, threat_types)
        self.config = self.plan.config
        self.locator: SiteLocator | None = None

    def bind(self, matcher: Matcher) -> None:
        """Build the site index once the rules are compiled (they resolve the sites' places)."""
        if matcher.sites and any(_names_sites(r.condition) for r in matcher.rules):
            countries = any(_names_sites(r.condition, country=True) for r in matcher.rules)
            self.locator = SiteLocator(matcher.sites, kinds_from(self.resolver), countries=countries)

    def locate(self, facts: list[ItemFacts]) -> list[ItemFacts]:
        if self.locator is None or not facts:
            return facts
        geometry = ItemGeometry(self.store).shapes([f.id for f in facts])
        return self.locator.annotate(facts, geometry)

    def is_trip(self, alert: AlertRule) -> bool:
        """Whether the alert is a trip's (its digest is rendered by the trip templates)."""
        name = trip_name(alert.name)
        return name is not None and name in self.plan.trips

    def render(self, digest: Digest, alert: AlertRule) -> RenderedDigest | None:
        name = trip_name(alert.name)
        travel = self.config.travel
        if name is None or travel is None or name not in self.plan.trips:
            return None
        levels = current_levels(AdvisoryLevels(self.store).current())
        return render_trip(digest, alert, self.plan.trips[name], travel.lead, self.resolver, levels,
                           templates=self.config.templates)


def _names_sites(condition: Condition, *, country: bool = False) -> bool:
    """Whether a condition or any nested one names sites (with ``country``: with include_country)."""
    children: tuple[Condition, ...] = (*condition.any_of, *condition.all_of,
                               *((condition.not_,) if condition.not_ is not None else ()))
    here = condition.sites is not None and (condition.include_country or not country)
    return here or any(_names_sites(c, country=country) for c in children)


def trip_report(travel: Travel, now: datetime) -> list[dict[str, Any]]:
    """Every trip with its legs (place id and name, dates, past/active/upcoming, the country's
    current official level) and how many items its digests have sent; for ``advisory-monitor trips``."""
    config_travel = travel.config.travel
    if config_travel is None:
        return []
    levels = current_levels(AdvisoryLevels(travel.store).current())
    outbox = Outbox(travel.store)
    out = []
    for name, trip in travel.plan.trips.items():
        sent = sum(d.item_count for d in outbox.list_digests(alert=alert_name(name))
                   if any(x.status == "sent" for x in d.deliveries))
        legs = leg_views(trip, config_travel.lead, now, travel.resolver, levels)
        out.append({
            "name": name, "traveller": trip.traveller, "email": trip.email, "from": travel.plan.origin.get(name),
            "alert": alert_name(name), "deliver": [t.kind for t in targets(trip, config_travel)],
            "items_sent": sent,
            "legs": [{"place": leg.place, "name": leg.name, "country": leg.country,
                      "dates": day_text(leg.start, leg.end),
                      "start": leg.start.isoformat(), "end": leg.end.isoformat(), "state": leg.state,
                      "watched": leg.watched,
                      "level": leg.level, "level_issuer": leg.level_issuer, "advice": leg.advice} for leg in legs],
        })
    return out
