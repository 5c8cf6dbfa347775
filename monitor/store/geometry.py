"""Store: reads of the items' geometry for sites (monitor/travel/sites.py).

Only the points and the extra keys that hold shapes (CAP areas, GeoRSS geometry, the GDACS bbox)
leave the database; an item with none of them is not returned at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError
from monitor.store import schema as t

if TYPE_CHECKING:
    from monitor.store.core import Store

SHAPE_KEYS = ("cap", "geometry", "gdacs_bbox")
_CHUNK = 500


class ItemGeometry:
    """Reads over the same engine as the store they come with."""

    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def shapes(self, ids: Sequence[str]) -> dict[str, tuple[list[Any], dict[str, Any]]]:
        """item id -> (points as stored, the extra keys holding shapes), for the given items that
        carry any geometry."""
        found: dict[str, tuple[list[Any], dict[str, Any]]] = {}
        wanted = list(ids)
        try:
            with self.engine.connect() as conn:
                for start in range(0, len(wanted), _CHUNK):
                    query = (select(t.items.c.id, t.items.c.points, t.items.c.extra)
                             .where(t.items.c.id.in_(wanted[start:start + _CHUNK])))
                    for item_id, points, extra in conn.execute(query):
                        kept = {k: extra[k] for k in SHAPE_KEYS if isinstance(extra, dict) and k in extra}
                        if points or kept:
                            found[item_id] = (list(points or []), kept)
        except SQLAlchemyError as exc:
            raise StoreError(f"could not read item geometry: {exc}") from exc
        return found
