"""Travel stage: where items are and where people will be.

``geo`` measures (one haversine, item shapes from points, CAP areas, GeoRSS and GDACS boxes, the
circle index); ``sites`` places sites and locates items against them before matching; ``trips``
loads trips (config, a folder of YAML or iCalendar files via ``itinerary``) and makes each one an
alert rule over its legs. Matching itself is ``monitor.alerts``; travel only fills the facts
(``ItemFacts.near``) and the legs it reads.
"""

from __future__ import annotations

from monitor.travel.geo import Circle, CircleIndex, Polygon, Shape, haversine_km, haversine_np, item_shapes
from monitor.travel.itinerary import Itinerary, parse_ics
from monitor.travel.sites import Site, SiteLocator, nearest_country, resolve_site
from monitor.travel.trips import TravelPlan, leg_views, load_folder, plan, resolve_location

__all__ = ["Circle", "CircleIndex", "Itinerary", "Polygon", "Shape", "Site", "SiteLocator", "TravelPlan",
           "haversine_km", "haversine_np", "item_shapes", "leg_views", "load_folder", "nearest_country",
           "parse_ics", "plan", "resolve_location", "resolve_site"]
