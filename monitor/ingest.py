"""Ingest stage: raw entries of one poll -> extracted, deduplicated items, ready for the store.

This is the step between a source and the store: it extracts clean text, gives each entry its
stable id, and sorts the poll into new items, new versions of known items, unchanged ones and
copies of stories already stored (exact or near-duplicates).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.dedup import (
    Candidate,
    Fingerprint,
    NearDuplicateIndex,
    content_hash,
    fingerprint,
    item_id,
    same_facts,
)
from monitor.extract import Boilerplate, extract
from monitor.models import Item, RawEntry
from monitor.store import DuplicateRecord, PollWrite, SourceState, Store, StoredEntry


@dataclass
class PollCounts:
    new: int = 0
    changed: int = 0
    duplicates: int = 0
    unchanged: int = 0


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
        extra=dict(entry.extra),
    )
    return item, bool(entry.guid or entry.link) and entry.path is None


def plan_poll(store: Store, index: NearDuplicateIndex | None, entries: Sequence[RawEntry],
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
    return write, counts


def _fingerprint(item: Item, shingle_words: int) -> Fingerprint:
    return fingerprint(f"{item.title}\n{item.text}", shingle_words, published=item.published,
                       points=[(p.lat, p.lon) for p in item.points])


def _original_of(item: Item, distinct: bool, fp: Fingerprint, exact: dict[str, list[Candidate]],
                 index: NearDuplicateIndex | None) -> tuple[str, float] | None:
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
