"""Stable item ids and near-duplicate detection.

Ids: source + guid, else source + link, else source + content hash, hashed to a short hex string.

Near-duplicates: each text gets a bottom-k MinHash sketch of its word shingles (one fixed 64-bit
hash per shingle, keep the k smallest; the Jaccard similarity of two sets is estimated from the k
smallest of their union). The few smallest hashes double as LSH keys, so candidates come from a
dict lookup, not a scan. A candidate counts as the same story only when the estimated
similarity reaches the threshold *and* the two texts name the same figures and no different
places: wire copies of a story with other furniture are merged, two GDACS alerts that differ by
one magnitude or two attacks in different towns are not.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SKETCH_SIZE = 64
SYNDICATION_DAYS = 3
BAND_KEYS = 8

_WORD = re.compile(r"\w+", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Capitalised words not at a sentence start approximate the places and names a story is about.
_PROPER = re.compile(r"(?<=[a-z,;:] )[A-Z][a-zà-ÿ]+(?:[- ][A-Z][a-zà-ÿ]+)*")


def item_id(source: str, guid: str | None, link: str | None, content_hash: str) -> str:
    """Stable id of an item within the store."""
    key = guid or link or content_hash
    return hashlib.sha256(f"{source}\0{key}".encode()).hexdigest()[:24]


def content_hash(title: str, text: str) -> str:
    normal = " ".join(_WORD.findall(f"{title}\n{text}".casefold()))
    return hashlib.sha256(normal.encode()).hexdigest()


@dataclass(frozen=True)
class Fingerprint:
    sketch: tuple[int, ...]
    numbers: frozenset[str]
    names: frozenset[str]
    # Day of publication (days since the epoch) and rounded geo points, where the source gives them.
    day: int | None = None
    places: frozenset[tuple[float, float]] = frozenset()
    members: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", frozenset(self.sketch))

    def to_json(self) -> dict[str, Any]:
        return {"s": list(self.sketch), "n": sorted(self.numbers), "p": sorted(self.names), "d": self.day,
                "g": sorted(list(p) for p in self.places)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fingerprint:
        return cls(tuple(data["s"]), frozenset(data["n"]), frozenset(data["p"]), data.get("d"),
                   frozenset(tuple(p) for p in data.get("g") or ()))


# The shingle hash (stored: changing any constant changes every stored sketch, which then needs a
# migration like 0004). A shingle's words' CRC-32s are folded into 64 bits (multiply-add, wrapping
# mod 2**64) and the result goes through SplitMix64's finaliser, so shingles that differ in one
# word land far apart. Kept to 63 bits: sketch values are filed in a signed 64-bit column.
_SEED = 0x243F6A8885A308D3
_FOLD = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB


def sketch(text: str, shingle_words: int = 4) -> tuple[int, ...]:
    """The bottom-k MinHash sketch of a text's word shingles: the SKETCH_SIZE smallest distinct
    shingle hashes, ascending. The same on every interpreter and platform (stored with items)."""
    return _bottom_k(_WORD.findall(text.casefold()), shingle_words)


def _bottom_k(words: list[str], shingle_words: int) -> tuple[int, ...]:
    # numpy runs the few arithmetic passes over all shingles at once (a Python-level hash per
    # shingle costs twice as much, bench/dedup.py); imported here, as only ingest needs it.
    import numpy as np

    word_hash = {w: zlib.crc32(w.encode()) for w in set(words)}  # each distinct word once
    hashed = np.array([word_hash[w] for w in words], dtype=np.uint64)
    # A text shorter than a shingle is one shingle of all its words (none: one constant value).
    width = min(shingle_words, len(hashed))
    count = len(hashed) - width + 1
    folded = np.full(count, _SEED, dtype=np.uint64)
    for i in range(width):
        folded = folded * np.uint64(_FOLD) + hashed[i:i + count]
    # SplitMix64's finaliser.
    folded ^= folded >> np.uint64(30)
    folded *= np.uint64(_MIX1)
    folded ^= folded >> np.uint64(27)
    folded *= np.uint64(_MIX2)
    folded ^= folded >> np.uint64(31)
    return tuple(int(v) for v in np.unique(folded >> np.uint64(1))[:SKETCH_SIZE])


def fingerprint(text: str, shingle_words: int = 4, *, published: datetime | None = None,
                points: Iterable[tuple[float, float]] = ()) -> Fingerprint:
    sketch = _bottom_k(_WORD.findall(text.casefold()), shingle_words)
    numbers = frozenset(_NUMBER.findall(text))
    names = frozenset(_PROPER.findall(text))
    day = int(published.timestamp() // 86400) if published else None
    places = frozenset((round(lat, 1), round(lon, 1)) for lat, lon in points)
    return Fingerprint(sketch, numbers, names, day, places)


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """Estimated Jaccard similarity of two bottom-k sketches."""
    if not a.sketch or not b.sketch:
        return 0.0
    sa, sb = a.members, b.members
    union = sorted(sa | sb)[:SKETCH_SIZE]
    both = sa & sb
    return sum(1 for h in union if h in both) / len(union)


def same_facts(a: Fingerprint, b: Fingerprint) -> bool:
    """Same figures, dates and points, and neither text names places the other lacks on both sides."""
    if a.numbers != b.numbers:
        return False
    # A story is syndicated within days; the same wording years apart is a new event (a drought
    # report that recurs), and the same wording at another point is another place.
    if a.day is not None and b.day is not None and abs(a.day - b.day) > SYNDICATION_DAYS:
        return False
    if a.places and b.places and not (a.places & b.places):
        return False
    # One side may carry extra furniture ("Trending now"); a substitution (Mopti vs Gao) differs.
    return not (a.names - b.names and b.names - a.names)


@dataclass
class Candidate:
    item_id: str
    source: str
    distinct_guid: bool
    fp: Fingerprint


@dataclass
class NearDuplicateIndex:
    """In-memory LSH index over recent items' sketches."""

    threshold: float = 0.8
    _bands: dict[int, list[Candidate]] = field(default_factory=dict)
    size: int = 0

    def add(self, candidate: Candidate) -> None:
        for key in candidate.fp.sketch[:BAND_KEYS]:
            self._bands.setdefault(key, []).append(candidate)
        self.size += 1

    def extend(self, candidates: Iterable[Candidate]) -> None:
        for candidate in candidates:
            self.add(candidate)

    def find(self, source: str, distinct_guid: bool, fp: Fingerprint) -> tuple[Candidate, float] | None:
        """The earlier item this one copies, with its similarity, or None."""
        candidates = (other for key in fp.sketch[:BAND_KEYS] for other in self._bands.get(key, ()))
        return best_original(source, distinct_guid, fp, candidates, self.threshold)


def best_original(source: str, distinct_guid: bool, fp: Fingerprint, candidates: Iterable[Candidate],
                  threshold: float) -> tuple[Candidate, float] | None:
    """Among LSH candidates, the earlier item this one copies best, with its similarity, or None."""
    seen: set[str] = set()
    best: tuple[Candidate, float] | None = None
    for other in candidates:
        if other.item_id in seen:
            continue
        seen.add(other.item_id)
        # Entries of one feed with their own guids are distinct by the feed's word.
        if other.source == source and distinct_guid and other.distinct_guid:
            continue
        # The shared sketch values bound the estimate from above: skip the exact count for
        # candidates that cannot reach the threshold.
        if len(fp.members & other.fp.members) < threshold * min(len(fp.sketch), len(other.fp.sketch)):
            continue
        score = similarity(fp, other.fp)
        if score >= threshold and same_facts(fp, other.fp) and (best is None or score > best[1]):
            best = (other, score)
    return best
