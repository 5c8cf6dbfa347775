"""Itineraries as iCalendar files (.ics), as travel agencies and calendar apps export them.

Each VEVENT is one leg: LOCATION is the place (resolved through the gazetteer by the caller),
DTSTART/DTEND the dates (an all-day DTEND is exclusive, as RFC 5545 says), ATTENDEE or ORGANIZER
the traveller's mail address. Recurring events have no place in an itinerary and are refused, as
is a calendar without events. Errors are ValueErrors whose message names what is wrong; the caller
adds the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class IcsLeg:
    location: str
    start: datetime | date
    end: datetime | date  # inclusive for dates, exclusive instant for datetimes (as LegSpec reads it)
    summary: str = ""


@dataclass(frozen=True)
class Itinerary:
    legs: list[IcsLeg]
    traveller: str = ""
    email: str | None = None


def parse_ics(data: bytes) -> Itinerary:
    """The legs of an iCalendar file, in date order; ValueError when it is not an itinerary."""
    import icalendar

    try:
        calendar = icalendar.Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as exc:
        raise ValueError(f"not a valid iCalendar file: {exc}") from exc
    events = list(calendar.walk("VEVENT"))
    if not events:
        raise ValueError("no VEVENT in the calendar: an itinerary needs one event per leg")
    legs: list[IcsLeg] = []
    traveller, email = "", None
    for number, event in enumerate(events, 1):
        summary = str(event.get("SUMMARY") or "").strip()
        label = f"event {number}" + (f" ({summary!r})" if summary else "")
        if event.get("RRULE") is not None or event.get("RDATE") is not None:
            raise ValueError(f"{label} repeats (RRULE/RDATE): an itinerary's legs happen once")
        location = " ".join(str(event.get("LOCATION") or "").split())
        if not location:
            raise ValueError(f"{label} has no LOCATION")
        start = _when(event.get("DTSTART"))
        if start is None:
            raise ValueError(f"{label} has no DTSTART")
        end = _when(event.get("DTEND"))
        if end is None and event.get("DURATION") is not None:
            end = start + event.decoded("DURATION")
        if isinstance(start, datetime) is not isinstance(end, datetime) and end is not None:
            raise ValueError(f"{label}: DTSTART and DTEND mix a date and a date-time")
        if end is None:
            end = start  # RFC 5545: a lone all-day DTSTART is that one day
        elif not isinstance(end, datetime):
            if end <= start:
                raise ValueError(f"{label} ends ({end}) before it starts ({start})")
            end = end - timedelta(days=1)  # exclusive all-day end -> the last day itself
        elif end <= start:
            raise ValueError(f"{label} ends ({end}) before it starts ({start})")
        legs.append(IcsLeg(location, start, end, summary))
        if email is None:
            traveller, email = _person(event)
    legs.sort(key=lambda leg: _sort_key(leg.start))
    return Itinerary(legs, traveller, email)


def _when(prop: Any) -> datetime | date | None:
    if prop is None:
        return None
    value = getattr(prop, "dt", prop)
    if isinstance(value, datetime):
        # A floating time (no TZID) is read as UTC: the file does not say where it is meant.
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return value
    return None


def _sort_key(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _person(event: Any) -> tuple[str, str | None]:
    """(name, mail address) of the first ATTENDEE, else the ORGANIZER."""
    people = event.get("ATTENDEE")
    candidates = list(people) if isinstance(people, list) else ([people] if people is not None else [])
    if event.get("ORGANIZER") is not None:
        candidates.append(event.get("ORGANIZER"))
    for person in candidates:
        address = str(person)
        if address.lower().startswith("mailto:") and "@" in address:
            params = getattr(person, "params", {}) or {}
            return str(params.get("CN") or ""), address[7:].strip()
    return "", None
