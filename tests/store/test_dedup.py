"""Stable ids and near-duplicate decisions."""

from __future__ import annotations

from pathlib import Path

from monitor.store.dedup import Candidate, Fingerprint, NearDuplicateIndex, fingerprint, item_id, same_facts, similarity

SEED = (Path(__file__).resolve().parents[2] / "seeds" / "000_16083772c90dda59.txt").read_text(encoding="utf-8")


def test_ids_are_stable_and_prefer_guid_then_link_then_content() -> None:
    assert item_id("s", "g1", "http://x", "h") == item_id("s", "g1", "http://other", "h2")
    assert item_id("s", None, "http://x", "h") == item_id("s", None, "http://x", "h2")
    assert item_id("s", None, None, "h") != item_id("s", None, None, "h2")
    assert item_id("s", "g1", None, "h") != item_id("t", "g1", None, "h")


def test_same_story_with_other_furniture_is_a_near_duplicate() -> None:
    copy = SEED.replace("Most Popular", "Trending now").replace("The Times of Israel Community", "our reader club")
    a, b = fingerprint(SEED), fingerprint(copy)
    assert similarity(a, b) >= 0.8 and same_facts(a, b)


def test_other_town_or_other_figure_is_another_story() -> None:
    base = ("Gunmen attack police post in Mopti, Mali. Two officers were killed in the attack, officials said. "
            "Security forces have sealed off the area and a curfew is in force.")
    other_town = fingerprint(base.replace("Mopti", "Gao"))
    assert not same_facts(fingerprint(base), other_town)
    quake = "Earthquake of magnitude 5.1 strikes off the coast of Sumatra, Indonesia, at a depth of 10 km."
    assert not same_facts(fingerprint(quake), fingerprint(quake.replace("5.1", "5.3")))


def test_index_finds_copies_across_sources_but_not_between_guids_of_one_feed() -> None:
    index = NearDuplicateIndex(threshold=0.8)
    fp = fingerprint(SEED)
    index.add(Candidate("orig", "feed-a", True, fp))
    found = index.find("feed-b", True, fingerprint(SEED + "\nShare this article"))
    assert found is not None and found[0].item_id == "orig"
    assert index.find("feed-a", True, fp) is None  # same feed, own guid: distinct by the feed's word
    assert index.find("files", False, fingerprint("A different story about floods in Pakistan.")) is None


def test_same_wording_years_apart_or_at_another_point_is_another_event() -> None:
    from datetime import UTC, datetime

    text = "Drought is on going in China. The drought alert level is Green. Affected area is large."
    a = fingerprint(text, published=datetime(2019, 5, 1, tzinfo=UTC), points=[(30.1, 110.2)])
    later = fingerprint(text, published=datetime(2022, 11, 3, tzinfo=UTC), points=[(30.1, 110.2)])
    elsewhere = fingerprint(text, published=datetime(2019, 5, 1, tzinfo=UTC), points=[(5.0, 20.0)])
    next_day = fingerprint(text, published=datetime(2019, 5, 2, tzinfo=UTC), points=[(30.1, 110.2)])
    assert not same_facts(a, later) and not same_facts(a, elsewhere) and same_facts(a, next_day)
    assert Fingerprint.from_json(a.to_json()) == a
