"""What a person may write for a region or a threat (an id, an ISO code, a name, any case) and the
one id it means; alert rules and the ``items`` filters read names the same way."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from monitor.alerts.matching import RegionResolver


@dataclass(frozen=True)
class Unresolved:
    """Why a name means no single id, and the closest one known when there is one."""

    message: str
    suggestion: str | None = None


def region_id(resolver: RegionResolver, name: str) -> str | Unresolved:
    """The id of the one region ``name`` means (an id wins over a name spelled the same)."""
    found = list(resolver.resolve(name))
    exact = [r for r in found if r.id == name]
    if exact:
        found = exact[:1]
    if not found:
        return Unresolved(f"unknown region '{name}'", suggest_region(resolver, name))
    if len({r.id for r in found}) > 1:
        listed = ", ".join(f"{r.id} ({r.name}, {r.kind})" for r in found[:8])
        return Unresolved(f"'{name}' names more than one region: {listed}; write the id")
    return str(found[0].id)


def suggest_region(resolver: RegionResolver, name: str) -> str | None:
    """The closest id or name the gazetteer knows (only asked on the error path: it is slow)."""
    regions: Any = getattr(resolver, "regions", None)
    if not isinstance(regions, dict):
        return None
    # Ids for what looks like an id (AZ, AZ-BA, baku-az), names for what looks like a name;
    # countries and larger areas first, so that 'Narnia' suggests Namibia and not a town.
    looks_like_id = name.isupper() or "-" in name or name.islower()
    for kinds in (("country", "subregion", "continent"), ("region",), ("city",)):
        pool = sorted({r.id if looks_like_id else r.name for r in regions.values() if r.kind in kinds})
        close = difflib.get_close_matches(name, pool, n=5, cutoff=0.6)
        # Typos seldom hit the first letter: among close names, one starting alike wins.
        alike = [c for c in close if c[:1].lower() == name[:1].lower()]
        if close:
            return str((alike or close)[0])
    return None


def threat_id(known: Iterable[str], name: str) -> str | Unresolved:
    """The threat type ``name`` means: its id in any case, with spaces or hyphens for underscores
    (``Armed conflict`` is ``armed_conflict``)."""
    types = sorted(set(known))
    key = "_".join(name.strip().lower().replace("-", " ").split())
    if key in types:
        return key
    close = difflib.get_close_matches(key, types, n=1, cutoff=0.6)
    return Unresolved(f"unknown threat '{name}' (known: {', '.join(types)})", close[0] if close else None)
