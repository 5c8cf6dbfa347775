"""Crontab expressions (five fields) for digest schedules: parse, validate, next fire time.

Our own small reader rather than APScheduler's, because only ``daemon.py`` may import APScheduler
and because APScheduler 3 numbers weekdays from Monday (``1-5`` would mean Tuesday to Saturday),
whereas every crontab user means Monday to Friday. Standard crontab rules: ``*``, lists, ranges,
steps, month and day names, 0 and 7 both Sunday, and when both day fields are restricted a day
matches if either does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# (name, low, high, names starting at low)
_FIELDS = [("minute", 0, 59, None), ("hour", 0, 23, None), ("day of month", 1, 31, None),
           ("month", 1, 12, _MONTHS), ("day of week", 0, 7, _DAYS)]
# Far enough to find Feb 29 on a Monday; an expression that never fires is refused at parse time.
_SEARCH_DAYS = 366 * 8


@dataclass(frozen=True)
class Cron:
    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool
    any_weekday: bool

    def _day_matches(self, day: datetime) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return dow
        if self.any_weekday:
            return dom
        return dom or dow

    def next_after(self, after: datetime, timezone: str = "UTC") -> datetime:
        """The first fire time strictly after ``after`` (aware), as an aware UTC datetime."""
        zone = ZoneInfo(timezone)
        local = after.astimezone(zone)
        day = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        for _ in range(_SEARCH_DAYS):
            if self._day_matches(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        wall = datetime.combine(day.date(), time(hour, minute), tzinfo=zone)
                        fire = wall.astimezone(UTC)
                        if fire > after:
                            return fire
            day += timedelta(days=1)
        raise ValueError(f"cron expression {self.expression!r} never fires")


def parse_cron(expression: str) -> Cron:
    """Parse five crontab fields; raises ValueError saying which field is wrong and why."""
    parts = expression.split()
    if len(parts) != 5:
        raise ValueError(f"expected five fields (minute hour day month weekday), got {len(parts)} in {expression!r}")
    values = [_field(text, *spec) for text, spec in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(0 if d == 7 else d for d in values[4])
    cron = Cron(expression, tuple(sorted(values[0])), tuple(sorted(values[1])), frozenset(values[2]),
                frozenset(values[3]), weekdays, parts[2] == "*", parts[4] == "*")
    cron.next_after(datetime(2000, 1, 1, tzinfo=UTC))  # refuses "0 0 31 2 *" here, not at 3 a.m.
    return cron


def _field(text: str, name: str, low: int, high: int, names: list[str] | None) -> set[int]:
    out: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"{name}: bad step {step_text!r} in {part!r}")
            step = int(step_text)
        if body == "*":
            start, end = low, high
        elif "-" in body:
            a, b = body.split("-", 1)
            start, end = _value(a, name, low, high, names), _value(b, name, low, high, names)
            if start > end:
                raise ValueError(f"{name}: range {body!r} runs backwards")
        else:
            start = _value(body, name, low, high, names)
            end = high if step_text else start
        out.update(range(start, end + 1, step))
    return out


def _value(text: str, name: str, low: int, high: int, names: list[str] | None) -> int:
    lowered = text.lower()
    if names and lowered in names:
        return names.index(lowered) + (low if name == "month" else 0)
    if not lowered.isdigit():
        raise ValueError(f"{name}: {text!r} is not a number" + (f" or a name ({', '.join(names)})" if names else ""))
    value = int(lowered)
    if not low <= value <= high:
        raise ValueError(f"{name}: {value} is outside {low}-{high}")
    return value
