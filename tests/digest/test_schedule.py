"""Digest schedules and quiet hours, with the time given rather than read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.config import AlertRule, QuietHours
from monitor.digest.schedule import is_due, next_due, quiet_until

T = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def alert(schedule: object) -> AlertRule:
    return AlertRule.model_validate({"name": "a", "schedule": schedule, "deliver": [{"kind": "file", "path": "/x"}]},
                                    context={"base": "/"})


def test_every_counts_from_the_last_digest_and_the_first_goes_at_once() -> None:
    rule = alert({"every": "1h"})
    assert is_due(rule, None, T, T)
    assert not is_due(rule, T, T, T + timedelta(minutes=59))
    assert is_due(rule, T, T, T + timedelta(hours=1))


def test_cron_fires_after_the_last_digest() -> None:
    rule = alert({"cron": "0 7 * * *", "timezone": "Asia/Baku"})
    assert next_due(rule, None, T) == datetime(2024, 3, 5, 3, 0, tzinfo=UTC)
    assert not is_due(rule, datetime(2024, 3, 5, 3, 0, tzinfo=UTC), T, datetime(2024, 3, 6, 2, 59, tzinfo=UTC))
    assert is_due(rule, datetime(2024, 3, 5, 3, 0, tzinfo=UTC), T, datetime(2024, 3, 6, 3, 0, tzinfo=UTC))


def test_immediate_is_always_due() -> None:
    assert is_due(alert("immediate"), T, T, T)


def test_quiet_hours_over_midnight_and_within_a_day() -> None:
    night = QuietHours(start="22:00", end="07:00", timezone="Asia/Baku")
    assert quiet_until(night, datetime(2024, 3, 4, 17, 59, tzinfo=UTC)) is None  # 21:59 in Baku
    assert quiet_until(night, datetime(2024, 3, 4, 18, 0, tzinfo=UTC)) == datetime(2024, 3, 5, 3, 0, tzinfo=UTC)
    assert quiet_until(night, datetime(2024, 3, 5, 2, 59, tzinfo=UTC)) == datetime(2024, 3, 5, 3, 0, tzinfo=UTC)
    assert quiet_until(night, datetime(2024, 3, 5, 3, 0, tzinfo=UTC)) is None
    lunch = QuietHours(start="12:00", end="13:30")
    assert quiet_until(lunch, datetime(2024, 3, 4, 12, 15, tzinfo=UTC)) == datetime(2024, 3, 4, 13, 30, tzinfo=UTC)
    assert quiet_until(lunch, datetime(2024, 3, 4, 13, 30, tzinfo=UTC)) is None
    assert quiet_until(QuietHours(start="08:00", end="08:00"), T) is None
