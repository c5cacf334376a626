"""Cron schedules against hand-computed calendars (2026: 1 Jan is a Thursday)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime

import pytest

from riskops.errors import InputError
from riskops.jobs.cron import first_business_day, parse_schedule


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def slots_2026(expression: str, timezone: str = "UTC") -> list[datetime]:
    schedule = parse_schedule(expression, timezone, job="test")
    return schedule.slots(utc(2025, 12, 31, 23, 59), utc(2026, 12, 31, 23, 59))


def test_second_tuesdays_of_2026() -> None:
    days = [(1, 13), (2, 10), (3, 10), (4, 14), (5, 12), (6, 9), (7, 14), (8, 11), (9, 8),
            (10, 13), (11, 10), (12, 8)]
    assert slots_2026("0 2 * * 2#2") == [utc(2026, m, d, 2) for m, d in days]
    # the same dates from the calendar module: the second Tuesday of each month
    for month, day in days:
        tuesdays = [w[calendar.TUESDAY] for w in calendar.monthcalendar(2026, month)
                    if w[calendar.TUESDAY]]
        assert tuesdays[1] == day


def test_first_monday_of_each_quarter_ands_day_fields() -> None:
    expected = [utc(2026, 1, 5, 9), utc(2026, 4, 6, 9), utc(2026, 7, 6, 9), utc(2026, 10, 5, 9)]
    assert slots_2026("0 9 1-7 1,4,7,10 1") == expected
    assert slots_2026("0 9 * 1,4,7,10 1#1") == expected


def test_last_day_of_month_including_leap_february() -> None:
    schedule = parse_schedule("0 23 L * *", job="month-end")
    found = schedule.slots(utc(2027, 12, 31), utc(2028, 4, 1))
    assert found == [utc(2027, 12, 31, 23), utc(2028, 1, 31, 23), utc(2028, 2, 29, 23),
                     utc(2028, 3, 31, 23)]


def test_last_friday_of_month() -> None:
    assert slots_2026("0 18 * * L5")[:4] == [utc(2026, 1, 30, 18), utc(2026, 2, 27, 18),
                                             utc(2026, 3, 27, 18), utc(2026, 4, 24, 18)]


def test_first_business_day_matches_the_1w_field() -> None:
    found = [s.date() for s in slots_2026("0 9 1W * *")]
    assert found == [first_business_day(2026, m) for m in range(1, 13)]
    # 1 Feb 2026 is a Sunday, 1 Aug a Saturday (no jump back into July), 1 Nov a Sunday
    assert date(2026, 2, 2) in found and date(2026, 8, 3) in found and date(2026, 11, 2) in found


def test_first_business_day_skips_holidays() -> None:
    assert first_business_day(2026, 1, holidays=[date(2026, 1, 1)]) == date(2026, 1, 2)
    assert first_business_day(2026, 8) == date(2026, 8, 3)


def test_schedule_in_a_time_zone_follows_its_wall_clock() -> None:
    found = slots_2026("0 2 * * 2#2", "Europe/Berlin")
    assert found[0] == utc(2026, 1, 13, 1)  # CET = UTC+1
    assert found[3] == utc(2026, 4, 14, 0)  # CEST = UTC+2


def test_skipped_wall_time_fires_once_after_the_jump() -> None:
    # 29 March 2026 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that night.
    schedule = parse_schedule("30 2 * * *", "Europe/Berlin", job="nightly")
    assert schedule.slots(utc(2026, 3, 28, 2), utc(2026, 3, 30, 2)) == [
        utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)]


def test_repeated_wall_time_fires_once() -> None:
    # 25 October 2026 03:00 CEST goes back to 02:00 CET; 02:30 happens twice.
    schedule = parse_schedule("30 2 * * *", "Europe/Berlin", job="nightly")
    assert schedule.slots(utc(2026, 10, 24, 2), utc(2026, 10, 26, 2)) == [
        utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_latest_due_counts_a_slot_at_exactly_now() -> None:
    schedule = parse_schedule("0 6 * * 0", job="weekly")
    assert schedule.latest_due(utc(2026, 1, 4, 6)) == utc(2026, 1, 4, 6)
    assert schedule.latest_due(utc(2026, 1, 4, 5, 59, 59)) == utc(2025, 12, 28, 6)


def test_shorthands() -> None:
    assert parse_schedule("@weekly", job="w").next_after(utc(2026, 1, 1)) == utc(2026, 1, 4)


@pytest.mark.parametrize(("expression", "message"), [
    ("0 9 30 2 *", "job nightly: schedule '0 9 30 2 \\*' never fires"),
    ("61 * * * *", "job nightly: schedule '61 \\* \\* \\* \\*' is not a valid cron expression"),
    ("0 0 * * *  *", "job nightly: schedule '0 0 \\* \\* \\* \\*' has 6 fields; riskops takes "
                     "five"),
    ("@reboot", "job nightly: schedule '@reboot' is not a known shorthand"),
    ("", "job nightly: the schedule must be a cron expression string"),
    (5, "job nightly: the schedule must be a cron expression string"),
])
def test_invalid_schedules_name_the_job_and_the_rule(expression: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_schedule(expression, job="nightly")


def test_unknown_time_zone() -> None:
    with pytest.raises(InputError, match="job nightly: timezone 'Mars/Olympus' is not a known "
                                         "IANA zone"):
        parse_schedule("0 1 * * *", "Mars/Olympus", job="nightly")
