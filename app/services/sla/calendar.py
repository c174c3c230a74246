"""Business-hours maths: the one place that counts SLA minutes. Pure functions, no database.

A ``Schedule`` is a weekly set of opening intervals in a time zone's wall-clock
time, minus holidays (whole local days). Minutes are counted as real elapsed
minutes inside open intervals: on the night clocks go forward an interval
00:00-24:00 holds 23 hours, and a 09:00-17:00 day is always 8 hours.

- ``add_business_minutes(schedule, start, minutes)``: the moment ``minutes``
  business minutes after ``start``. Counting starts at ``start`` if it lies in an
  open interval, else at the next opening; a result that lands exactly at a
  closing time stays there (a 60-minute target opened 16:30 on a Friday of a
  Mon-Fri 09:00-17:00 week is due 09:30 on Monday).
- ``business_minutes_between(schedule, start, end)``: the business minutes in
  ``[start, end)``; 0 when ``end <= start``.

Every datetime in and out is timezone-aware; results are in UTC.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 1440
MAX_DAYS = 366 * 20  # a schedule that never opens within this horizon is refused

Interval = tuple[int, int]  # (start minute, end minute) after local midnight, end exclusive, up to 1440


@dataclass(frozen=True)
class Schedule:
    tz: ZoneInfo
    week: tuple[tuple[Interval, ...], ...] = field(default_factory=lambda: ((),) * 7)  # Monday first
    holidays: frozenset[date] = frozenset()
    always_open: bool = False

    @classmethod
    def around_the_clock(cls, tz: str | ZoneInfo = "UTC") -> "Schedule":
        """24/7: every minute counts, holidays included."""
        return cls(tz=_zone(tz), always_open=True)

    @classmethod
    def weekly(cls, tz: str | ZoneInfo, hours: dict[int, list[Interval]], holidays=()) -> "Schedule":
        """``hours`` maps weekday (0 = Monday) to its intervals; they are sorted and merged."""
        week = tuple(tuple(merge_intervals(hours.get(day, []))) for day in range(7))
        if not any(week):
            raise ValueError("a business-hours schedule needs at least one open interval")
        return cls(tz=_zone(tz), week=week, holidays=frozenset(holidays))

    def open_intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals as UTC datetimes, in order, from the local day of ``start`` on."""
        day = start.astimezone(self.tz).date()
        for _ in range(MAX_DAYS):
            if day not in self.holidays:
                for begin, end in self.week[day.weekday()]:
                    yield _at(day, begin, self.tz), _at(day, end, self.tz)
            day += timedelta(days=1)
        raise ValueError("the schedule has no open time within the horizon")


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def _at(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """Local wall-clock minute of a day as a UTC datetime (1440 is the next midnight)."""
    if minute >= MINUTES_PER_DAY:
        day, minute = day + timedelta(days=1), minute - MINUTES_PER_DAY
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz).astimezone(timezone.utc)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to business-hours maths")
    return value.astimezone(timezone.utc)


def merge_intervals(intervals) -> list[Interval]:
    """Sorted, overlapping or touching intervals joined; empty ones dropped."""
    merged: list[list[int]] = []
    for begin, end in sorted((int(b), int(e)) for b, e in intervals):
        if not 0 <= begin < end <= MINUTES_PER_DAY:
            raise ValueError(f"bad interval {begin}-{end}")
        if merged and begin <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([begin, end])
    return [(b, e) for b, e in merged]


def add_business_minutes(schedule: Schedule, start: datetime, minutes: float) -> datetime:
    start = _aware(start)
    remaining = timedelta(minutes=max(0.0, float(minutes)))
    if schedule.always_open:
        return start + remaining
    for begin, end in schedule.open_intervals(start):
        if end <= start:
            continue
        begin = max(begin, start)
        if begin + remaining <= end:
            return begin + remaining
        remaining -= end - begin
    raise AssertionError("unreachable")  # open_intervals raises first


def business_minutes_between(schedule: Schedule, start: datetime, end: datetime) -> float:
    start, end = _aware(start), _aware(end)
    if end <= start:
        return 0.0
    if schedule.always_open:
        return (end - start).total_seconds() / 60
    total = timedelta()
    for begin, finish in schedule.open_intervals(start):
        if begin >= end:
            break
        if finish <= start:
            continue
        total += min(finish, end) - max(begin, start)
    return total.total_seconds() / 60


# -- reading and writing opening hours as text ("09:00-12:00, 13:00-17:00") ----------------
def parse_intervals(text: str) -> list[Interval]:
    """'09:00-12:00, 13:00-17:00' → [(540, 720), (780, 1020)]; '' → []; ValueError with a message."""
    intervals = []
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            left, right = (p.strip() for p in part.split("-"))
            begin, end = _minute(left), _minute(right)
        except ValueError:
            raise ValueError(f"'{part}' is not a range like 09:00-17:00.") from None
        if end == 0:
            end = MINUTES_PER_DAY  # "22:00-00:00" ends at midnight
        if begin >= end:
            raise ValueError(f"'{part}' ends before it starts (a shift cannot cross midnight: split it).")
        intervals.append((begin, end))
    try:
        merged = merge_intervals(intervals)
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    if len(merged) != len(intervals):
        raise ValueError("Intervals overlap.")
    return merged


def _minute(text: str) -> int:
    hours, _, minutes = text.partition(":")
    h, m = int(hours), int(minutes or 0)
    if h == 24 and m == 0:
        return MINUTES_PER_DAY
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(text)
    return h * 60 + m


def format_intervals(intervals) -> str:
    return ", ".join(f"{_clock(b)}-{_clock(e)}" for b, e in intervals)


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
