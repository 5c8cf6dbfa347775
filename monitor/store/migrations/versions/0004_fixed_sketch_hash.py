"""Near-duplicate sketches made with a fixed 64-bit hash instead of Python's hash() of int tuples
(monitor/store/dedup.py). No schema change: every stored sketch is remade from the item's stored
title and text, and the near-duplicate index (dedup_keys, whose keys come from the sketches) is
emptied; the daemon files the window's items again at its next start (Pipeline.dedup_index), as it
does for a database from before the index was stored.

The shingle size an old sketch was made with (``dedup.shingle_words``, configurable) is not stored:
it is found by remaking the old sketch from the text with each size. Python's hash of a tuple of
ints is the same on the interpreter that made it, so the size that reproduces the stored sketch is
the one used; where none does (a database moved from another interpreter), the size last found,
else the default.

Revision ID: 0004
"""

from __future__ import annotations

import heapq
import re
import zlib
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

from monitor.store.dedup import sketch

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BATCH = 500
DEFAULT_SHINGLE_WORDS = 4
MAX_SHINGLE_WORDS = 10  # the config's bound
GIVE_UP_AFTER = 50  # rows in a row that no size reproduces: the old hash is not this interpreter's

_items = sa.table("items", sa.column("seq", sa.Integer), sa.column("title", sa.Text), sa.column("text", sa.Text),
                  sa.column("fingerprint", sa.JSON))
_dedup_keys = sa.table("dedup_keys")
# The sketch as releases before 0004 made it (kept here as it was: it only has to recognise them).
_OLD_WORD = re.compile(r"\w+", re.UNICODE)
_OLD_SKETCH_SIZE = 64


def _old_sketch(words: list[str], shingle_words: int) -> list[int]:
    word_hash = {w: zlib.crc32(w.encode()) for w in set(words)}
    hashed = [word_hash[w] for w in words]
    if len(hashed) < shingle_words:
        shingles = {hash(tuple(hashed))}
    else:
        shingles = set(map(hash, zip(*(hashed[i:] for i in range(shingle_words)), strict=False)))
    return heapq.nsmallest(_OLD_SKETCH_SIZE, shingles)


Sketcher = Callable[[str, int], list[int]]


def _old(text: str, shingle_words: int) -> list[int]:
    return _old_sketch(_OLD_WORD.findall(text.casefold()), shingle_words)


def _new(text: str, shingle_words: int) -> list[int]:
    return list(sketch(text, shingle_words))


class _Sizes:
    """Finds the shingle size a stored sketch was made with, trying the last one found first."""

    def __init__(self, made_with: Sketcher) -> None:
        self.made_with = made_with
        self.last = DEFAULT_SHINGLE_WORDS
        self.misses = 0

    def of(self, text: str, stored: list[int]) -> int:
        if self.misses >= GIVE_UP_AFTER:
            return self.last
        sizes: list[int] = list(dict.fromkeys([self.last, DEFAULT_SHINGLE_WORDS, *range(1, MAX_SHINGLE_WORDS + 1)]))
        for size in sizes:
            if self.made_with(text, size) == stored:
                self.last, self.misses = size, 0
                return size
        self.misses += 1
        return self.last


def _remake(made_with: Sketcher, remake: Sketcher) -> None:
    """Replace every stored sketch made by ``made_with`` with ``remake``'s, then empty the index."""
    conn = op.get_bind()
    sizes = _Sizes(made_with)
    after = 0
    while True:
        rows = conn.execute(sa.select(_items.c.seq, _items.c.title, _items.c.text, _items.c.fingerprint)
                            .where(_items.c.seq > after).order_by(_items.c.seq).limit(BATCH)).all()
        if not rows:
            break
        after = rows[-1].seq
        remade: list[dict[str, Any]] = []
        for row in rows:
            fp = row.fingerprint
            if not isinstance(fp, dict) or not isinstance(fp.get("s"), list):
                continue  # no sketch stored (an item from before fingerprints were)
            text = f"{row.title}\n{row.text}"  # what monitor/sources/ingest.py fingerprints
            remade.append({"b_seq": row.seq, "b_fingerprint": {**fp, "s": remake(text, sizes.of(text, fp["s"]))}})
        if remade:
            conn.execute(_items.update().where(_items.c.seq == sa.bindparam("b_seq"))
                         .values(fingerprint=sa.bindparam("b_fingerprint")), remade)
    conn.execute(sa.delete(_dedup_keys))


def upgrade() -> None:
    _remake(_old, _new)


def downgrade() -> None:
    _remake(_new, _old)
