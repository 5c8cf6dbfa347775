"""Crontab expressions: crontab's weekday numbering, names, steps, both day fields, DST, errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.support.cron import parse_cron


def test_weekdays_count_from_sunday_as_in_crontab() -> None:
    cron = parse_cron("0 7 * * 1-5")
    friday_evening = datetime(2024, 3, 8, 20, 0, tzinfo=UTC)
    assert cron.next_after(friday_evening) == datetime(2024, 3, 11, 7, 0, tzinfo=UTC)  # Monday
    assert parse_cron("0 7 * * 7").weekdays == parse_cron("0 7 * * sun").weekdays == frozenset({0})


def test_timezone_steps_and_names() -> None:
    cron = parse_cron("*/15 7-8 * jan-mar mon,wed")
    after = datetime(2024, 3, 4, 3, 50, tzinfo=UTC)  # Monday 07:50 in Baku
    assert cron.next_after(after, "Asia/Baku") == datetime(2024, 3, 4, 4, 0, tzinfo=UTC)  # 08:00 Baku
    assert cron.next_after(datetime(2024, 3, 4, 4, 45, tzinfo=UTC), "Asia/Baku") == datetime(
        2024, 3, 6, 3, 0, tzinfo=UTC)


def test_either_day_field_matches_when_both_are_restricted() -> None:
    cron = parse_cron("0 0 13 * fri")
    assert cron.next_after(datetime(2024, 3, 1, 1, tzinfo=UTC)) == datetime(2024, 3, 8, tzinfo=UTC)  # a Friday
    assert cron.next_after(datetime(2024, 3, 9, tzinfo=UTC)) == datetime(2024, 3, 13, tzinfo=UTC)  # the 13th


def test_daylight_saving_keeps_the_wall_clock() -> None:
    cron = parse_cron("0 7 * * *")
    # Berlin moves to summer time on 2024-03-31: 07:00 local is 06:00 UTC before, 05:00 UTC after.
    assert cron.next_after(datetime(2024, 3, 30, 7, tzinfo=UTC), "Europe/Berlin") == datetime(
        2024, 3, 31, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize(("expression", "message"), [
    ("0 7 * *", "expected five fields"),
    ("60 * * * *", "minute: 60 is outside 0-59"),
    ("0 7 * * funday", "day of week: 'funday' is not a number or a name"),
    ("0 0 31 2 *", "never fires"),
    ("*/0 * * * *", "bad step"),
    ("0 9-5 * * *", "runs backwards"),
])
def test_bad_expressions_say_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_cron(expression)
