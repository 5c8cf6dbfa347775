"""Digest stage for a traveller: the items of a trip's digest grouped by leg.

Each leg shows its place, dates and the current official level for its country (the highest any
issuer states now, with that issuer's advice), then its items newest first, each with what to do
next when its issuer says (a CAP instruction, an advisory's level label). The webhook/file payload
keeps the shape of every digest (``items``) and adds ``trip`` and ``legs``. Like monitor/digest/render.py,
rendering reads no clock: the same digest and levels render to the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from monitor.classify.gazetteer import Gazetteer
from monitor.config import AlertRule, TripSpec
from monitor.digest.render import render_template, user_environment
from monitor.digest.views import digest_zone, entry_view, local_time, subject
from monitor.models import Digest, DigestEntry, RenderedDigest
from monitor.travel.trips import LegView, day_text, leg_views

TEXT_TEMPLATE = "trip.txt"
HTML_TEMPLATE = "trip.html"


def entry_legs(entry: DigestEntry, legs: list[LegView], lead: timedelta,
               ancestors: Callable[[str], set[str]] | None) -> list[int]:
    """The legs an entry belongs to: its place lies in the leg's, while the leg was current."""
    regions: set[str] = set()
    for hit in entry.classification.regions:
        if hit.role == "primary":
            regions.add(hit.id)
            if ancestors is not None:
                regions |= ancestors(hit.id)
    dated = entry.item.published or entry.item.first_seen
    return [leg.index for leg in legs if leg.place in regions and leg.start - lead <= dated < leg.end]


def advice(entry: DigestEntry) -> str | None:
    """What the issuer says to do, if it says: a CAP instruction, else an official level's label."""
    cap, adv = entry.item.extra.cap, entry.item.extra.advisory
    if cap is not None and cap.instruction and cap.instruction.strip():
        return " ".join(cap.instruction.split())
    if adv is not None and adv.label and adv.scope == "country":
        return f"{adv.issuer}: {adv.label}"
    return None


def render_trip(digest: Digest, alert: AlertRule, trip: TripSpec, lead: timedelta, resolver: Gazetteer | None,
                levels: dict[str, tuple[int, str, str]], templates: Path | None = None) -> RenderedDigest:
    """The traveller's digest, grouped by leg; ``trip.txt``/``trip.html`` in the config's
    ``templates:`` folder replace the shipped ones."""
    tz = digest_zone(digest, alert)
    legs = leg_views(trip, lead, digest.created_at, resolver, levels)
    ancestors = resolver.ancestors if resolver is not None else None
    groups: dict[int, list[dict[str, Any]]] = {leg.index: [] for leg in legs}
    other: list[dict[str, Any]] = []
    ordered = sorted(digest.entries, key=lambda e: (e.item.published or e.item.first_seen, e.item.id), reverse=True)
    for entry in ordered:
        view = entry_view(entry, alert.name, tz)
        view["advice"] = advice(entry)
        found = entry_legs(entry, legs, lead, ancestors)
        # An item about two legs' places (a leg to AZ and one to Baku) shows under the first.
        (groups[found[0]] if found else other).append(view)
    leg_list: list[dict[str, Any]] = [{
        "index": leg.index, "place": leg.place, "name": leg.name, "country": leg.country, "state": leg.state,
        "dates": day_text(leg.start, leg.end), "level": leg.level, "level_issuer": leg.level_issuer,
        "advice": leg.advice, "entries": groups[leg.index]} for leg in legs if groups[leg.index]]
    count = len(digest.entries)
    title = subject(alert.name, [], count).replace(" new", f" new for {trip.traveller or trip.name}", 1)
    if leg_list:
        title += ": " + ", ".join(leg["name"] for leg in leg_list[:3])
    context = {
        "subject": title, "alert": alert.name, "trip": trip.name, "traveller": trip.traveller,
        "digest_id": digest.id, "created": local_time(digest.created_at, tz), "timezone": tz.key, "count": count,
        "legs": leg_list, "other": other, "digest": digest,
    }
    env = user_environment((templates,) if templates is not None else ())
    views = [e for leg in leg_list for e in leg["entries"]] + other
    payload = {
        "digest_id": digest.id, "alert": digest.alert, "created_at": digest.created_at.isoformat(),
        "items": [v["_payload"] for v in views],
        "trip": {"name": trip.name, "traveller": trip.traveller},
        "legs": [{k: leg[k] for k in ("index", "place", "name", "country", "state", "dates", "level", "advice")}
                 | {"items": [e["id"] for e in leg["entries"]]} for leg in leg_list],
    }
    return RenderedDigest(digest_id=digest.id, subject=title,
                          text=render_template(env, TEXT_TEMPLATE, context, alert=alert.name),
                          html=render_template(env, HTML_TEMPLATE, context, alert=alert.name), payload=payload)
