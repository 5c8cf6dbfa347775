"""When an alert's digest is due: its schedule (immediate, every, cron) and its quiet hours.

Pure functions of an injected ``now``, so the daemon, ``once`` and the tests agree without
sleeping. Quiet hours defer and never drop: what is held goes out at the first due check after
they end.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from monitor.config import AlertRule, CronSchedule, EverySchedule, QuietHours
from monitor.support.cron import Cron, parse_cron


@lru_cache(maxsize=256)
def _cron(expression: str) -> Cron:
    return parse_cron(expression)


def next_due(alert: AlertRule, last_sent: datetime | None, pending_since: datetime) -> datetime:
    """When the alert's next digest is due, given its last digest and its oldest waiting match."""
    schedule = alert.schedule
    if isinstance(schedule, EverySchedule):
        return last_sent + schedule.every if last_sent else pending_since
    if isinstance(schedule, CronSchedule):
        return _cron(schedule.cron).next_after(last_sent or pending_since, schedule.timezone)
    return pending_since  # immediate


def is_due(alert: AlertRule, last_sent: datetime | None, pending_since: datetime, now: datetime) -> bool:
    return next_due(alert, last_sent, pending_since) <= now


def _clock(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def quiet_until(quiet: QuietHours | None, now: datetime) -> datetime | None:
    """The end of the quiet period ``now`` falls in (aware UTC), or None outside quiet hours.

    ``start`` is inclusive and ``end`` exclusive; a period may run over midnight (22:00-07:00).
    Equal start and end mean no quiet hours at all.
    """
    if quiet is None:
        return None
    zone = ZoneInfo(quiet.timezone)
    local = now.astimezone(zone)
    start, end = _clock(quiet.start), _clock(quiet.end)
    if start == end:
        return None
    wall = local.time().replace(second=0, microsecond=0, tzinfo=None)
    if start < end:
        inside = start <= wall < end
        end_day = local.date()
    else:
        inside = wall >= start or wall < end
        end_day = local.date() + timedelta(days=1) if wall >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC)
