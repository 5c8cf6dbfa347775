"""Ingest stage: raw entries of one poll -> extracted, deduplicated items, ready for the store.

This is the step between a source and the store: it extracts clean text, gives each entry its
stable id, and sorts the poll into new items, new versions of known items, unchanged ones and
copies of stories already stored (exact or near-duplicates).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.models import Item, RawEntry
from monitor.sources.extract import Boilerplate, extract
from monitor.store import DuplicateRecord, PollWrite, SourceState, Store, StoredEntry
from monitor.store.dedup import (
    BAND_KEYS,
    Candidate,
    Fingerprint,
    NearDuplicateIndex,
    best_original,
    content_hash,
    fingerprint,
    item_id,
    same_facts,
)


@dataclass
class PollCounts:
    new: int = 0
    changed: int = 0
    duplicates: int = 0
    unchanged: int = 0


def index_keys(fp: Fingerprint) -> list[int]:
    """A fingerprint's keys in the stored near-duplicate index: each LSH band of its sketch joined
    with the figures the text names. Two texts are only ever one story when they name the same
    figures (``same_facts``), so items with other figures never share a bucket: feeds whose items
    share their wording and differ by a number (every GDACS alert, every "N injured" report) would
    otherwise fill one bucket with thousands of items, each compared with every new one. Stable
    across processes (band values are hashes of ints); a collision only adds a candidate that the
    comparison turns down."""
    figures = zlib.crc32("\x1f".join(sorted(fp.numbers)).encode())
    return list(dict.fromkeys(((band ^ (figures << 31)) & _KEY_MASK) for band in fp.sketch[:BAND_KEYS]))


_KEY_MASK = (1 << 63) - 1  # a signed 64-bit column on every dialect


class StoredIndex:
    """The near-duplicate index kept in the store (``dedup_keys``) instead of in memory.

    A month of fingerprints in memory grows with every item; here a lookup is one indexed query
    and the fingerprints of the few candidates it finds are read with it. The items of the poll
    being planned are kept here until ``written`` hands their keys to the poll's transaction.
    """

    def __init__(self, store: Store, threshold: float, since: Callable[[], datetime]) -> None:
        self.store = store
        self.threshold = threshold
        self.since = since
        self._poll: dict[int, list[Candidate]] = {}
        self._keys: list[tuple[str, int]] = []

    def add(self, candidate: Candidate) -> None:
        for key in index_keys(candidate.fp):
            self._poll.setdefault(key, []).append(candidate)
            self._keys.append((candidate.item_id, key))

    def written(self) -> list[tuple[str, int]]:
        """The (item id, key) rows of this poll's new items, to be written with them; starts the next poll."""
        keys, self._keys, self._poll = self._keys, [], {}
        return keys

    def find(self, source: str, distinct_guid: bool, fp: Fingerprint) -> tuple[Candidate, float] | None:
        """The earlier item this one copies, with its similarity, or None (as NearDuplicateIndex.find)."""
        keys = index_keys(fp)
        stored = self.store.dedup_matches(keys, self.since())
        order = {key: i for i, key in enumerate(keys)}
        # Band order, then oldest first: the order in which the in-memory index meets candidates.
        found = sorted(stored, key=lambda kc: order.get(kc[0], len(order)))
        found += [(key, c) for key in keys for c in self._poll.get(key, ())]
        return best_original(source, distinct_guid, fp, (c for _, c in found), self.threshold)


def to_item(entry: RawEntry, boilerplate: Boilerplate | None, now: datetime) -> tuple[Item, bool]:
    """The stored form of an entry, and whether its guid/link alone makes it distinct."""
    text = extract(entry.body, is_html=entry.body_is_html, boilerplate=boilerplate)
    title = " ".join(entry.title.split())
    digest = content_hash(title, text)
    key = entry.guid or (f"file:{entry.path}" if entry.path else None)
    item = Item(
        id=item_id(entry.source, key, entry.link, digest), source=entry.source, guid=entry.guid or entry.path,
        url=entry.link, title=title, text=text, published=entry.published, first_seen=now,
        updated_at=entry.updated, author=entry.author, categories=list(entry.categories),
        category_domains=dict(entry.category_domains), points=list(entry.points), content_hash=digest,
        extra=entry.extra,
    )
    return item, bool(entry.guid or entry.link) and entry.path is None


def plan_poll(store: Store, index: NearDuplicateIndex | StoredIndex | None, entries: Sequence[RawEntry],
              state: SourceState, boilerplate: Boilerplate | None, now: datetime,
              shingle_words: int = 4) -> tuple[PollWrite, PollCounts]:
    """Sort one poll's entries into what the store must write."""
    write = PollWrite(state=state)
    counts = PollCounts()
    prepared = [to_item(e, boilerplate, now) for e in entries]
    # One entry per id: a feed that repeats a guid keeps its last version.
    by_id: dict[str, tuple[Item, bool]] = {}
    for item, distinct in prepared:
        by_id[item.id] = (item, distinct)
    ids = list(by_id)
    known = store.known_hashes(ids)
    known_dups = store.known_duplicates(ids)
    exact = store.items_with_hash([item.content_hash for item, _ in by_id.values()])
    for item, distinct in by_id.values():
        if item.id in known:
            old_hash, version = known[item.id]
            if old_hash == item.content_hash:
                counts.unchanged += 1
                continue
            fp = _fingerprint(item, shingle_words)
            changed = item.model_copy(update={"version": version + 1, "updated_at": item.updated_at or now})
            write.changed.append(StoredEntry(changed, fp, distinct))
            counts.changed += 1
            continue
        if item.id in known_dups:
            counts.unchanged += 1
            continue
        fp = _fingerprint(item, shingle_words)
        original = _original_of(item, distinct, fp, exact, index)
        if original is not None:
            original_id, score = original
            write.duplicates.append(DuplicateRecord(item.id, original_id, item.source, item.url, item.title,
                                                    score, item.content_hash))
            counts.duplicates += 1
            continue
        write.new.append(StoredEntry(item, fp, distinct))
        exact.setdefault(item.content_hash, []).append(Candidate(item.id, item.source, distinct, fp))
        if index is not None:
            index.add(Candidate(item.id, item.source, distinct, fp))
        counts.new += 1
    if isinstance(index, StoredIndex):
        write.dedup_keys = index.written()
    return write, counts


def _fingerprint(item: Item, shingle_words: int) -> Fingerprint:
    return fingerprint(f"{item.title}\n{item.text}", shingle_words, published=item.published,
                       points=[(p.lat, p.lon) for p in item.points])


def _original_of(item: Item, distinct: bool, fp: Fingerprint, exact: dict[str, list[Candidate]],
                 index: NearDuplicateIndex | StoredIndex | None) -> tuple[str, float] | None:
    """The stored item this one copies (exactly, or nearly), with the similarity."""
    for same in exact.get(item.content_hash, ()):
        # Entries of one feed with their own guids are distinct items, even with identical text; the
        # same text about another day or another point is another event.
        if same.source == item.source and same.distinct_guid and distinct:
            continue
        if same.fp is None or same_facts(fp, same.fp):
            return same.item_id, 1.0
    if index is None:
        return None
    found = index.find(item.source, distinct, fp)
    return (found[0].item_id, found[1]) if found else None
