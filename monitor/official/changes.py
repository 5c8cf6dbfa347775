"""Official advisory levels over time: change detection, change items, and structured overrides.

Official sources (monitor/official/) give entries with ``extra.advisory``. For the
issuers whose advisories are a country's standing level (scope "country"), each poll is compared
with the stored current levels:

- the first level seen for an (issuer, country) is a baseline: recorded, not news;
- a raised or lowered level, or "parts of the country" switched on or off at the same level, is a
  change: recorded in the history and turned into a synthetic item of the same source
  ("Mali: US level raised from 3 to 4") carrying ``extra.advisory_change``, dated when it was
  observed, so alert rules can match it (``advisory_change: [raised]``);
- a re-publication at the same level is not news: only ``last_seen`` moves.

``apply_official`` makes structured fields beat text guessing in a classification: the issuer's
country comes first and its level fixes the severity; the text still adds threats and regions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from monitor.models import AdvisoryChange, Classification, ItemExtra, OfficialAdvisory, RawEntry, RegionHit
from monitor.store import LevelHistoryRow, LevelRow, LevelWrite
from monitor.store.dedup import item_id

log = logging.getLogger(__name__)

# How titles name an issuer ("Mali: US level raised from 3 to 4"), by source kind.
ISSUER_NAMES = {"us-state-dept": "US", "fcdo": "UK", "canada": "Canada", "smartraveller": "Australia",
                "gdacs": "GDACS", "cap": "CAP"}
CHANGES = ("raised", "lowered", "parts")


@dataclass(frozen=True)
class Observation:
    """One country's level as one poll states it."""

    issuer: str
    country: str
    level: int
    parts: bool
    label: str
    published: datetime | None
    item_id: str | None
    entry: RawEntry | None = None


@dataclass(frozen=True)
class LevelChange:
    observation: Observation
    change: Literal["raised", "lowered", "parts"]
    old_level: int
    old_parts: bool
    old_label: str


@dataclass
class Detection:
    write: LevelWrite
    changes: list[LevelChange]


def observations(entries: Iterable[RawEntry]) -> list[Observation]:
    """The country-level statements among a poll's entries (later entries win per country)."""
    direct: dict[tuple[str, str], Observation] = {}
    covered: dict[tuple[str, str], Observation] = {}
    for entry in entries:
        adv = entry.extra.advisory
        if adv is None or not adv.country_level:
            continue
        level, country = adv.level, adv.country
        if level is None or not 1 <= level <= 4 or not country:
            continue
        key = entry.guid or entry.link
        own = item_id(entry.source, key, entry.link, "") if key else None
        issuer = adv.issuer or entry.source
        obs = Observation(issuer, country, level, adv.parts, adv.label, entry.published or entry.updated, own, entry)
        direct[(issuer, country)] = obs
        for other in adv.also or ():
            covered[(issuer, other)] = Observation(issuer, other, level, obs.parts, obs.label, obs.published, own,
                                                   entry)
    # An advisory of its own beats one that covers the country among others.
    return list({**covered, **direct}.values())


def detect(current: Mapping[tuple[str, str], LevelRow], observed: Sequence[Observation],
           now: datetime) -> Detection:
    """Compare a poll's observations with the stored levels. Pure and fast (dict lookups)."""
    write = LevelWrite()
    changes: list[LevelChange] = []
    for obs in observed:
        old = current.get((obs.issuer, obs.country))
        if old is None:
            row = LevelRow(obs.issuer, obs.country, obs.level, obs.parts, obs.label, obs.published or now, now,
                           obs.published, obs.item_id)
            write.insert.append(row)
            write.history.append(LevelHistoryRow(obs.issuer, obs.country, now, "baseline", None, obs.level, None,
                                                 obs.parts, obs.label, None))
            continue
        kind: Literal["raised", "lowered", "parts"]
        if obs.level != old.level:
            kind = "raised" if obs.level > old.level else "lowered"
        elif obs.parts != old.parts:
            kind = "parts"
        else:
            # A re-publication: not news. The label and dates follow the issuer.
            write.update.append(LevelRow(obs.issuer, obs.country, old.level, old.parts, obs.label or old.label,
                                         old.since, now, obs.published or old.published, obs.item_id or old.item_id))
            continue
        change = LevelChange(obs, kind, old.level, old.parts, old.label)
        changes.append(change)
        write.update.append(LevelRow(obs.issuer, obs.country, obs.level, obs.parts, obs.label, now, now,
                                     obs.published or old.published, obs.item_id or old.item_id))
        write.history.append(LevelHistoryRow(obs.issuer, obs.country, now, kind, old.level, obs.level, old.parts,
                                             obs.parts, obs.label, change_guid_id(change, now)))
    return Detection(write, changes)


def change_guid(change: LevelChange, now: datetime) -> str:
    obs = change.observation
    return (f"advisory-change:{obs.issuer}:{obs.country}:{change.old_level}{'p' if change.old_parts else ''}"
            f"-{obs.level}{'p' if obs.parts else ''}:{now.isoformat()}")


def change_guid_id(change: LevelChange, now: datetime) -> str:
    source = change.observation.entry.source if change.observation.entry else change.observation.issuer
    return item_id(source, change_guid(change, now), None, "")


def change_title(change: LevelChange, country_name: str, issuer_name: str) -> str:
    obs = change.observation
    if change.change == "parts":
        what = "now covers" if obs.parts else "no longer covers"
        return f"{country_name}: {issuer_name} advice {what} parts of the country (level {obs.level})"
    return f"{country_name}: {issuer_name} level {change.change} from {change.old_level} to {obs.level}"


def change_entry(change: LevelChange, now: datetime, *, issuer_name: str, country_name: str) -> RawEntry:
    """The synthetic item that makes a level change matchable by alert rules."""
    obs = change.observation
    source = obs.entry.source if obs.entry else obs.issuer
    title = change_title(change, country_name, issuer_name)
    sentence = (f"{issuer_name} {change.change if change.change != 'parts' else 'changed'} its travel advice for "
                f"{country_name}: level {change.old_level} ({change.old_label}) to level {obs.level} ({obs.label})"
                f"{'; parts of the country are under stricter advice' if obs.parts else ''}.")
    body, is_html = sentence, False
    if obs.entry is not None and obs.entry.body:
        is_html = obs.entry.body_is_html
        body = f"<p>{sentence}</p>{obs.entry.body}" if is_html else f"{sentence}\n\n{obs.entry.body}"
    own = obs.entry.extra.advisory if obs.entry else None
    # This observation's statement, with the scope and further countries of the entry's own advisory.
    advisory = OfficialAdvisory(issuer=obs.issuer, country=obs.country, level=obs.level, parts=obs.parts,
                                label=obs.label, scope=own.scope if own else None, also=own.also if own else None)
    moved = AdvisoryChange(
        change=change.change, old=change.old_level, new=obs.level, old_parts=change.old_parts, parts=obs.parts,
        old_label=change.old_label, label=obs.label, issuer=obs.issuer, country=obs.country,
        observed_at=now.isoformat(), advisory_item=obs.item_id)
    return RawEntry(
        source=source, guid=change_guid(change, now), link=obs.entry.link if obs.entry else None, title=title,
        body=body, body_is_html=is_html, published=now, categories=["advisory-change", change.change],
        extra=ItemExtra(advisory=advisory, advisory_change=moved),
    )


def plan_levels(current: Iterable[LevelRow], entries: Sequence[RawEntry], now: datetime, *,
                source_kind: str) -> tuple[list[RawEntry], LevelWrite]:
    """The change items and level writes for one official poll."""
    from monitor.official.countries import country_name

    table = {(row.issuer, row.country): row for row in current}
    found = detect(table, observations(entries), now)
    issuer_name = ISSUER_NAMES.get(source_kind, source_kind)
    made = []
    for change in found.changes:
        obs = change.observation
        name = _entry_country_name(obs) or country_name(obs.country)
        log.info("%s: %s level for %s %s from %s to %s", obs.issuer, issuer_name, obs.country, change.change,
                 change.old_level, obs.level)
        made.append(change_entry(change, now, issuer_name=issuer_name, country_name=name))
    return made, found.write


def _entry_country_name(obs: Observation) -> str | None:
    """The issuer's own name for the country ("Burma (Myanmar)"), from its entry's title."""
    if obs.entry is None or not obs.entry.title:
        return None
    title = obs.entry.title
    for sep in (" - ", " travel advice"):
        if sep in title:
            head = title.split(sep, 1)[0].strip()
            if head and len(head) < 60:
                return head
    return None


# -- structured fields beat text guessing ---------------------------------------------------------

def apply_official(cls: Classification, advisory: OfficialAdvisory | None, *,
                   region_name: str | None = None) -> Classification:
    """The classification with the issuer's country first and its level as the severity."""
    if advisory is None:
        return cls
    from monitor.official.scale import severity_of

    update: dict[str, Any] = {}
    country = advisory.country
    if country:
        update["countries"] = [country, *(c for c in cls.countries if c != country)]
        if not any(r.id == country for r in cls.regions):
            hit = RegionHit(id=country, name=region_name or country, kind="country", country=country, role="primary",
                            score=max((r.score for r in cls.regions), default=1.0))
            update["regions"] = [hit, *cls.regions]
        else:
            update["regions"] = [r.model_copy(update={"role": "primary"}) if r.id == country else r
                                 for r in cls.regions]
    severity = severity_of(advisory.level)
    if severity is not None:
        update["severity"] = severity
        update["severity_evidence"] = []
    return cls.model_copy(update=update) if update else cls
