"""Business-hours maths, table-driven: weekends, holidays, split shifts, DST, 24/7."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from app.services.sla.calendar import (Schedule, add_business_minutes, business_minutes_between, format_intervals,
                                       parse_intervals)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
NINE_TO_FIVE = {d: [(540, 1020)] for d in range(5)}
SPLIT = {d: [(540, 720), (780, 1020)] for d in range(5)}  # 09-12, 13-17

OFFICE = Schedule.weekly(PARIS, NINE_TO_FIVE)
OFFICE_XMAS = Schedule.weekly(PARIS, NINE_TO_FIVE, holidays={date(2025, 12, 25), date(2025, 12, 26)})
SPLIT_SHIFTS = Schedule.weekly(PARIS, SPLIT)
NY_OFFICE = Schedule.weekly(NEW_YORK, NINE_TO_FIVE)
ALL_DAY_PARIS = Schedule.weekly(PARIS, {d: [(0, 1440)] for d in range(7)})
ROUND_THE_CLOCK = Schedule.around_the_clock(PARIS)


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


ADD_CASES = [
    # (label, schedule, start, minutes, expected)
    ("inside the day", OFFICE, paris(2025, 6, 2, 10, 0), 60, paris(2025, 6, 2, 11, 0)),
    ("ends exactly at closing", OFFICE, paris(2025, 6, 2, 16, 0), 60, paris(2025, 6, 2, 17, 0)),
    ("friday 16:30 + 60 is monday 09:30", OFFICE, paris(2025, 6, 6, 16, 30), 60, paris(2025, 6, 9, 9, 30)),
    ("opened on saturday counts from monday", OFFICE, paris(2025, 6, 7, 11, 0), 30, paris(2025, 6, 9, 9, 30)),
    ("opened before opening", OFFICE, paris(2025, 6, 3, 7, 15), 90, paris(2025, 6, 3, 10, 30)),
    ("opened after closing", OFFICE, paris(2025, 6, 3, 19, 0), 60, paris(2025, 6, 4, 10, 0)),
    ("three business days", OFFICE, paris(2025, 6, 4, 12, 0), 3 * 480, paris(2025, 6, 9, 12, 0)),
    ("holidays are skipped", OFFICE_XMAS, paris(2025, 12, 24, 16, 0), 120, paris(2025, 12, 29, 10, 0)),
    ("split shift: lunch break skipped", SPLIT_SHIFTS, paris(2025, 6, 2, 11, 30), 60, paris(2025, 6, 2, 13, 30)),
    ("split shift: ends at the break", SPLIT_SHIFTS, paris(2025, 6, 2, 11, 0), 60, paris(2025, 6, 2, 12, 0)),
    ("split shift: opened during lunch", SPLIT_SHIFTS, paris(2025, 6, 2, 12, 20), 30, paris(2025, 6, 2, 13, 30)),
    ("split shift over the weekend", SPLIT_SHIFTS, paris(2025, 6, 6, 16, 0), 240, paris(2025, 6, 9, 12, 0)),
    ("split shift: one more minute waits for lunch to end", SPLIT_SHIFTS, paris(2025, 6, 6, 16, 0), 241,
     paris(2025, 6, 9, 13, 1)),
    # Clocks go forward in Paris on Sunday 30 March 2025 (02:00 → 03:00).
    ("DST spring: Friday to Monday keeps wall clock", OFFICE, paris(2025, 3, 28, 16, 30), 60,
     paris(2025, 3, 31, 9, 30)),
    ("DST spring: a 24h-open local day has 23 hours", ALL_DAY_PARIS, paris(2025, 3, 30, 0, 0), 23 * 60,
     paris(2025, 3, 31, 0, 0)),
    # Clocks go back in New York on Sunday 2 November 2025 (02:00 → 01:00).
    ("DST autumn in New York", NY_OFFICE, ny(2025, 10, 31, 16, 0), 120, ny(2025, 11, 3, 10, 0)),
    ("24/7 counts wall time across DST", ROUND_THE_CLOCK, paris(2025, 3, 29, 12, 0), 24 * 60,
     paris(2025, 3, 30, 13, 0)),
    ("zero minutes inside the day is the start", OFFICE, paris(2025, 6, 2, 10, 0), 0, paris(2025, 6, 2, 10, 0)),
    ("zero minutes at night is the next opening", OFFICE, paris(2025, 6, 2, 22, 0), 0, paris(2025, 6, 3, 9, 0)),
]


@pytest.mark.parametrize("label, schedule, start, minutes, expected", ADD_CASES, ids=[c[0] for c in ADD_CASES])
def test_add_business_minutes(label, schedule, start, minutes, expected):
    due = add_business_minutes(schedule, start, minutes)
    assert due == expected
    assert due.tzinfo == timezone.utc


BETWEEN_CASES = [
    # (label, schedule, start, end, minutes)
    ("same day", OFFICE, paris(2025, 6, 2, 10, 0), paris(2025, 6, 2, 12, 30), 150),
    ("a pause across a night", OFFICE, paris(2025, 6, 2, 16, 0), paris(2025, 6, 3, 10, 0), 120),
    ("a pause across a weekend", OFFICE, paris(2025, 6, 6, 15, 0), paris(2025, 6, 9, 11, 0), 240),
    ("a pause that is all night counts nothing", OFFICE, paris(2025, 6, 2, 18, 0), paris(2025, 6, 3, 8, 0), 0),
    ("a pause over holidays", OFFICE_XMAS, paris(2025, 12, 24, 16, 0), paris(2025, 12, 29, 10, 0), 120),
    ("split shifts", SPLIT_SHIFTS, paris(2025, 6, 2, 8, 0), paris(2025, 6, 2, 18, 0), 420),
    ("DST spring day, open all day", ALL_DAY_PARIS, paris(2025, 3, 30, 0, 0), paris(2025, 3, 31, 0, 0), 23 * 60),
    ("end before start", OFFICE, paris(2025, 6, 2, 12, 0), paris(2025, 6, 2, 10, 0), 0),
    ("24/7", ROUND_THE_CLOCK, paris(2025, 6, 6, 15, 0), paris(2025, 6, 9, 11, 0), 68 * 60),
]


@pytest.mark.parametrize("label, schedule, start, end, minutes", BETWEEN_CASES, ids=[c[0] for c in BETWEEN_CASES])
def test_business_minutes_between(label, schedule, start, end, minutes):
    assert business_minutes_between(schedule, start, end) == pytest.approx(minutes)


@pytest.mark.parametrize("schedule", [OFFICE, SPLIT_SHIFTS, OFFICE_XMAS, NY_OFFICE, ROUND_THE_CLOCK])
@pytest.mark.parametrize("start", [paris(2025, 6, 6, 16, 30), paris(2025, 3, 29, 23, 0), paris(2025, 12, 24, 8, 0)])
@pytest.mark.parametrize("minutes", [1, 59, 480, 2000])
def test_counting_back_what_was_added(schedule, start, minutes):
    due = add_business_minutes(schedule, start, minutes)
    assert business_minutes_between(schedule, start, due) == pytest.approx(minutes)


def test_pause_then_resume_moves_the_deadline_by_the_paused_business_time():
    """A 16-hour target opened Monday 09:00; paused Monday 16:00 to Wednesday 10:00 (10 business hours)."""
    opened = paris(2025, 6, 2, 9, 0)
    paused = business_minutes_between(OFFICE, paris(2025, 6, 2, 16, 0), paris(2025, 6, 4, 10, 0))
    assert paused == 10 * 60
    assert add_business_minutes(OFFICE, opened, 16 * 60) == paris(2025, 6, 3, 17, 0)
    assert add_business_minutes(OFFICE, opened, 16 * 60 + paused) == paris(2025, 6, 5, 11, 0)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        add_business_minutes(OFFICE, datetime(2025, 6, 2, 10, 0), 10)


def test_a_schedule_must_open_sometime():
    with pytest.raises(ValueError):
        Schedule.weekly(PARIS, {})


@pytest.mark.parametrize("text, expected", [
    ("09:00-17:00", [(540, 1020)]),
    ("09:00-12:00, 13:00-17:30", [(540, 720), (780, 1050)]),
    ("22:00-00:00", [(1320, 1440)]),
    ("00:00-24:00", [(0, 1440)]),
    ("", []),
])
def test_parse_intervals(text, expected):
    assert parse_intervals(text) == expected
    assert parse_intervals(format_intervals(expected)) == expected


@pytest.mark.parametrize("text", ["9-5pm", "17:00-09:00", "09:00-12:00, 11:00-13:00", "25:00-26:00", "09:00"])
def test_parse_intervals_refuses(text):
    with pytest.raises(ValueError):
        parse_intervals(text)
