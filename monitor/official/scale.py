"""Official sources: the structured advisory fields and the one normalised 1-4 scale.

Every official entry carries ``extra.advisory`` (``monitor.models.OfficialAdvisory``), stored as::

    {"issuer": <source name>, "country": ISO alpha-2, "level": 1-4, "parts": bool,
     "label": <the issuer's own words>, "scope": "country" | "event"}

``level`` is one scale for all issuers (1 normal precautions, 2 increased caution, 3 reconsider
travel, 4 do not travel); it maps to item severity low, medium, high, critical. ``parts`` says
that the issuer gives stricter advice for parts of the country than ``level`` states for it as a
whole (US "Some areas have increased risk", Canada ``has-regional-advisory``, FCDO ``..._to_parts``,
Smartraveller higher levels in ``field_advice_levels``). ``scope`` "country" advisories (US, FCDO,
Canada, Smartraveller) are a country's standing level and feed the level history; "event"
advisories (GDACS, CAP) rate one hazard and never change a country's level.

Mappings (the README documents them for users):

- US State Department: "Level N: ..." is N.
- FCDO ``alert_status`` (the strictest applies): ``avoid_all_travel_to_whole_country`` 4,
  ``avoid_all_but_essential_travel_to_whole_country`` 3, ``avoid_all_travel_to_parts`` 3 (parts),
  ``avoid_all_but_essential_travel_to_parts`` 2 (parts), none 1. A parts-only advice is one step
  below the same advice for the whole country, as on the US scale a country with no-go regions is
  rated "reconsider" rather than "do not travel".
- Canada ``advisory-state`` 0-3 is 1-4.
- Smartraveller levels 1-4 are 1-4.
- GDACS alert level Green 1, Orange 3, Red 4 (Orange: international assistance may be needed).
- CAP ``severity`` Minor 1, Moderate 2, Severe 3, Extreme 4; Unknown gives no level.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from monitor.models import OfficialAdvisory, Severity

LEVEL_SEVERITY = {1: Severity.low, 2: Severity.medium, 3: Severity.high, 4: Severity.critical}

US_LEVEL = re.compile(r"\bLevel\s*([1-4])\b", re.IGNORECASE)

FCDO_STATUS = {
    "avoid_all_travel_to_whole_country": (4, False),
    "avoid_all_but_essential_travel_to_whole_country": (3, False),
    "avoid_all_travel_to_parts": (3, True),
    "avoid_all_but_essential_travel_to_parts": (2, True),
}
FCDO_LABELS = {
    "avoid_all_travel_to_whole_country": "Advise against all travel to the whole country",
    "avoid_all_but_essential_travel_to_whole_country": "Advise against all but essential travel to the whole country",
    "avoid_all_travel_to_parts": "Advise against all travel to parts of the country",
    "avoid_all_but_essential_travel_to_parts": "Advise against all but essential travel to parts of the country",
}
FCDO_NONE_LABEL = "See travel advice before travelling"

CANADA_LABELS = {
    1: "Take normal security precautions", 2: "Exercise a high degree of caution",
    3: "Avoid non-essential travel", 4: "Avoid all travel",
}
SMARTRAVELLER_LABELS = {
    "exercise normal safety precautions": 1, "exercise a high degree of caution": 2,
    "reconsider your need to travel": 3, "do not travel": 4,
}
GDACS_LEVELS = {"green": 1, "orange": 3, "red": 4}
CAP_LEVELS = {"minor": 1, "moderate": 2, "severe": 3, "extreme": 4}


def advisory(issuer: str, country: str | None, level: int | None, parts: bool, label: str,
             scope: Literal["country", "event"] = "country", also: Sequence[str] = ()) -> OfficialAdvisory:
    """One issuer's structured statement about one country (or one hazard in it), as every preset
    writes it: the scope always stated, further countries only when there are some."""
    return OfficialAdvisory(issuer=issuer, country=country, level=level, parts=parts, label=label, scope=scope,
                            also=list(also) or None)


def us_level(text: str) -> int | None:
    found = US_LEVEL.search(text or "")
    return int(found.group(1)) if found else None


def fcdo_level(statuses: list[str]) -> tuple[int, bool, str]:
    """(level, parts, label) of an FCDO ``alert_status`` list; unknown values are ignored."""
    known = [s for s in statuses if s in FCDO_STATUS]
    if not known:
        return 1, False, FCDO_NONE_LABEL
    strictest = max(known, key=lambda s: FCDO_STATUS[s][0] + (0.5 if not FCDO_STATUS[s][1] else 0))
    level, _ = FCDO_STATUS[strictest]
    # Parts: some advice covers only parts of the country, beyond what the whole country gets.
    whole = max((FCDO_STATUS[s][0] for s in known if not FCDO_STATUS[s][1]), default=0)
    parts = any(FCDO_STATUS[s][1] and FCDO_STATUS[s][0] + 1 > whole for s in known)
    return level, parts, "; ".join(FCDO_LABELS[s] for s in known)


def smartraveller_level(text: str) -> int | None:
    return SMARTRAVELLER_LABELS.get(" ".join((text or "").lower().split()).rstrip("."))


def severity_of(level: int | None) -> Severity | None:
    return LEVEL_SEVERITY.get(level) if level is not None else None
