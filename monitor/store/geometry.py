"""Store: reads of the items' geometry for sites (monitor/travel/sites.py).

Only the points and the extra keys that hold shapes (CAP areas, GeoRSS geometry, the GDACS bbox)
leave the database; an item with none of them is not returned at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from monitor.store import schema as t
from monitor.store.base import HasEngine
from monitor.store.translate import translates_errors, translating

SHAPE_KEYS = ("cap", "geometry", "gdacs_bbox")
_CHUNK = 500


@translates_errors
class ItemGeometry:
    """Reads over the same engine as the store they come with (errors: StoreError)."""

    def __init__(self, store: HasEngine) -> None:
        self.engine = store.engine

    def shapes(self, ids: Sequence[str]) -> dict[str, tuple[list[Any], dict[str, Any]]]:
        """item id -> (points as stored, the extra keys holding shapes), for the given items that
        carry any geometry."""
        found: dict[str, tuple[list[Any], dict[str, Any]]] = {}
        wanted = list(ids)
        with translating("could not read item geometry"), self.engine.connect() as conn:
            for start in range(0, len(wanted), _CHUNK):
                query = (select(t.items.c.id, t.items.c.points, t.items.c.extra)
                         .where(t.items.c.id.in_(wanted[start:start + _CHUNK])))
                for item_id, points, extra in conn.execute(query):
                    kept = {k: extra[k] for k in SHAPE_KEYS if isinstance(extra, dict) and k in extra}
                    if points or kept:
                        found[item_id] = (list(points or []), kept)
        return found
