"""Incidents stage: what a report says about its event, reduced to what grouping compares.

A report's *event sentences* are its headline and lede (the first sentences of the body): news
writing puts the event there, and what comes later is often background (an earlier attack, last
year's protest) that must not pull the report into that event's incident. From them come the
features compared between reports: figures, dates, named entities (weighted) and content words.
Places come from the classification's primary regions, by level (city, region, country).
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.models import Classification, Item

LEDE_SENTENCES = 2
LEDE_CHARS = 600
# Weights of a feature by kind: figures and entities identify an event, words describe it.
WEIGHTS = {"#": 3.0, "@": 2.5, "d": 2.0, "w": 1.0}

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'“‘(]?[A-ZÀ-Þ0-9])")
_TOKEN = re.compile(r"\d+(?:[.,:]\d+)*|[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)
_MONTHS = {"january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday",
           "saturday", "sunday"}
_STOP = frozenset("""a an the and or but of in on at to for from by with as is are was were be been being has
have had it its this that these those there their they them he she his her we our you your i not no
than then so such into over after before about while during when where which who whom whose what
said says say also more most some any all one two three four five six seven eight nine ten least
near other others new news report reports reported according told tell would could should will can
may might must just only still up down out off per via mr mrs ms dr de la le el al""".split())
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "dozen": 12, "fifteen": 15, "twenty": 20}
_DEATH = r"(?:killed|dead|died|deaths?|killing|lives|fatalities|bodies)"
_COUNT = r"(\d[\d,]*|" + "|".join(_NUMBER_WORDS) + r")"
_CASUALTIES = (
    re.compile(_COUNT + r"\s+(?:\w+\s+){0,3}?(?:were\s+|have\s+been\s+|are\s+)?" + _DEATH, re.I),
    re.compile(r"(?:killed|killing|kills|toll\s+(?:\w+\s+){0,3}?(?:to|at|of|is|reached|stands\s+at))\s+"
               r"(?:at\s+least\s+|more\s+than\s+|nearly\s+|some\s+)?" + _COUNT, re.I),
)
CITY, REGION, COUNTRY = "city", "region", "country"


@dataclass(frozen=True)
class Report:
    """One item as grouping sees it. ``places`` maps a level to the ids named there as primary."""

    item_id: str
    source: str
    title: str
    at: datetime
    severity: str
    places: dict[str, tuple[str, ...]]
    regions: tuple[str, ...]
    threats: tuple[str, ...]
    features: dict[str, float]
    casualties: int | None
    days: tuple[int, ...] = ()  # days of the month the event sentences date it to ("on the 3rd")

    @property
    def countries(self) -> tuple[str, ...]:
        return self.places.get(COUNTRY, ())

    @property
    def norm(self) -> float:
        return math.sqrt(sum(w * w for w in self.features.values()))

    def keys(self) -> list[str]:
        """Lookup keys: one per (country, threat) pair."""
        return sorted(f"{c}|{th}" for c in self.countries for th in self.threats)

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "severity": self.severity, "places": {k: list(v) for k, v in self.places.items()},
                "regions": list(self.regions), "threats": list(self.threats), "features": self.features,
                "casualties": self.casualties, "days": list(self.days)}

    @classmethod
    def from_json(cls, item_id: str, source: str, at: datetime, data: dict[str, Any]) -> Report:
        return cls(item_id, source, data["title"], at, data["severity"],
                   {k: tuple(v) for k, v in data["places"].items()}, tuple(data["regions"]),
                   tuple(data["threats"]), dict(data["features"]), data["casualties"], tuple(data.get("days", ())))


def report_of(item: Item, cls: Classification) -> Report | None:
    """The item as a report, or None when it names no primary place or no threat (it never forms
    an incident)."""
    places = _places(cls)
    threats = tuple(sorted({th.type for th in cls.threats}))
    if not places.get(COUNTRY) or not threats:
        return None
    sentences = event_sentences(item.title, item.text)
    regions = tuple(sorted({r.id for r in cls.regions if r.role == "primary"}))
    return Report(item.id, item.source, item.title, item.published or item.first_seen, cls.severity.value,
                  places, regions, threats, features(sentences), casualties(sentences), days_of(sentences))


_MONTH_NAMES = "january|february|march|april|may|june|july|august|september|october|november|december"
# A date the event is said to have happened on ("on the 3rd", "on March 8", "on Sunday, 8 March"), not
# a dateline ("ISTANBUL, March 9 -"), which dates the report.
_ON = r"\bon (?:the )?(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,? )?"
_DAY = re.compile(rf"{_ON}(?:(\d{{1,2}})(?:st|nd|rd|th)\b|(?:{_MONTH_NAMES})\.? (\d{{1,2}})\b|"
                  rf"(\d{{1,2}}) (?:{_MONTH_NAMES})\b)", re.IGNORECASE)


def days_of(sentences: list[str]) -> tuple[int, ...]:
    """The days of the month the sentences name ("on the 3rd", "March 8", "8 March")."""
    days = {int(next(g for g in m.groups() if g)) for s in sentences for m in _DAY.finditer(s)}
    return tuple(sorted(d for d in days if 1 <= d <= 31))


def _places(cls: Classification) -> dict[str, tuple[str, ...]]:
    levels: dict[str, set[str]] = {CITY: set(), REGION: set(), COUNTRY: set(cls.countries)}
    for region in cls.regions:
        if region.role != "primary":
            continue
        if region.kind == "city":
            levels[CITY].add(region.id)
        elif region.kind in ("region", "subregion") and region.country:
            levels[REGION].add(region.id)
        elif region.kind == "country":
            levels[COUNTRY].add(region.id)
        if region.country:
            levels[COUNTRY].add(region.country)
    return {level: tuple(sorted(ids)) for level, ids in levels.items() if ids}


def event_sentences(title: str, text: str) -> list[str]:
    """The headline and the lede: the body's first sentences, within its first LEDE_CHARS."""
    body = " ".join(text.split())[:LEDE_CHARS]
    return [title, *_SENTENCE.split(body)[:LEDE_SENTENCES]]


@functools.lru_cache(maxsize=65536)
def _fold(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word.casefold()) if not unicodedata.combining(c))


def features(sentences: list[str]) -> dict[str, float]:
    """Weighted features of the event sentences: ``#`` figures, ``d`` dates and weekdays, ``@``
    entities (words capitalised where case says something: not opening a sentence, not in a
    title-case headline; an entity once is an entity everywhere), ``w`` word stems."""
    tokens = [[_fold_possessive(tok) for tok in _TOKEN.findall(s)] for s in sentences]
    entities = {_fold(tok) for index, sentence in enumerate(tokens) if not _title_case(sentence)
                for position, tok in enumerate(sentence) if position > 0 and tok[0].isupper()}
    found: dict[str, float] = {}
    for sentence in tokens:
        for token in sentence:
            folded = _fold(token)
            if token[0].isdigit():
                key = "#" + folded.replace(",", "")
            elif folded in _MONTHS:
                key = "d" + folded
            elif folded in _STOP or len(folded) < 3:
                continue
            elif folded in entities:
                key = "@" + folded
            else:
                key = "w" + _stem(folded)
            found[key] = WEIGHTS[key[0]]
    return found


def _fold_possessive(token: str) -> str:
    return token[:-2] if token.endswith(("'s", "’s")) else token


def _title_case(tokens: list[str]) -> bool:
    words = [t for t in tokens if len(t) > 3 and not t[0].isdigit()]
    return bool(words) and sum(t[0].isupper() for t in words) > 0.6 * len(words)


def _stem(word: str) -> str:
    for suffix in ("ings", "ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[:-len(suffix)]
            break
    return word[:6]


def casualties(sentences: list[str]) -> int | None:
    """The highest death figure the event sentences state, if any."""
    figures: list[int] = []
    for sentence in sentences:
        for pattern in _CASUALTIES:
            for match in pattern.finditer(sentence):
                raw = match.group(1).casefold().replace(",", "")
                figures.append(_NUMBER_WORDS[raw] if raw in _NUMBER_WORDS else int(raw))
    return max(figures) if figures else None


def similarity(a: Report, b: Report) -> float:
    """Weighted cosine of the two reports' features."""
    if not a.features or not b.features:
        return 0.0
    small, large = (a.features, b.features) if len(a.features) <= len(b.features) else (b.features, a.features)
    shared = sum(w * large[k] for k, w in small.items() if k in large)
    return shared / (a.norm * b.norm)


def same_place(a: Report, b: Report) -> bool:
    """A shared primary place at the finest level both name (a city or region beats a country)."""
    for level in (CITY, REGION, COUNTRY):
        mine, theirs = a.places.get(level), b.places.get(level)
        if mine and theirs:
            return bool(set(mine) & set(theirs))
    return False
