"""The SLA dashboard's numbers for a date range, computed in SQL (app.repositories.sla_reports).

A range is whole local days in the tenant's time zone, both ends included. A
target counts in the range when it was completed (first response given,
ticket solved) in it; breaches count when the sweep escalated them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from app.models import Ticket
from app.models.tickets import PRIORITIES
from app.repositories.sla_reports import MEASURES, SlaReportQueries
from app.repositories.unit_of_work import UnitOfWork
from app.services.validation import Errors

MAX_DAYS = 366
NOW_LIST_LIMIT = 50


@dataclass
class Attainment:
    key: object
    label: str
    first_response_total: int = 0
    first_response_met: int = 0
    resolution_total: int = 0
    resolution_met: int = 0
    first_response_median: int | None = None
    first_response_p90: int | None = None
    resolution_median: int | None = None
    resolution_p90: int | None = None
    breaches: int = 0

    @staticmethod
    def _pct(met: int, total: int) -> float | None:
        return round(100 * met / total, 1) if total else None

    @property
    def first_response_pct(self) -> float | None:
        return self._pct(self.first_response_met, self.first_response_total)

    @property
    def resolution_pct(self) -> float | None:
        return self._pct(self.resolution_met, self.resolution_total)


@dataclass
class DayPoint:
    day: date
    first_response_total: int = 0
    first_response_met: int = 0
    resolution_total: int = 0
    resolution_met: int = 0
    breaches: int = 0

    @property
    def first_response_pct(self) -> float | None:
        return Attainment._pct(self.first_response_met, self.first_response_total)

    @property
    def resolution_pct(self) -> float | None:
        return Attainment._pct(self.resolution_met, self.resolution_total)


@dataclass
class Summary:
    start: date
    end: date
    timezone: str
    overall: Attainment
    by_priority: list[Attainment]
    by_agent: list[Attainment]
    days: list[DayPoint]
    at_risk: list[Ticket] = field(default_factory=list)
    at_risk_total: int = 0
    breached: list[Ticket] = field(default_factory=list)
    breached_total: int = 0


def parse_range(start: str | date | None, end: str | date | None, tz: str, today: date | None = None) -> tuple[date, date]:
    """The range of a request; the last 30 days by default. ValidationFailed per parameter."""
    errors = Errors()
    today = today or datetime.now(ZoneInfo(tz)).date()
    values = {}
    for name, value, default in (("from", start, today - timedelta(days=29)), ("to", end, today)):
        if value in (None, ""):
            values[name] = default
        elif isinstance(value, date):
            values[name] = value
        else:
            try:
                values[name] = date.fromisoformat(str(value).strip())
            except ValueError:
                errors.add(name, "Use a date like 2025-06-30.")
    errors.raise_if_any()
    if values["to"] < values["from"]:
        errors.add("to", "Must not be before 'from'.")
    elif (values["to"] - values["from"]).days >= MAX_DAYS:
        errors.add("to", f"A range covers at most {MAX_DAYS} days.")
    errors.raise_if_any()
    return values["from"], values["to"]


def day_bounds(start: date, end: date, tz: str) -> list[datetime]:
    """UTC instants of each local midnight from ``start`` to the day after ``end``."""
    zone = ZoneInfo(tz)
    return [datetime.combine(start + timedelta(days=i), time.min, tzinfo=zone).astimezone(timezone.utc)
            for i in range((end - start).days + 2)]


def sla_summary(uow: UnitOfWork, start: date, end: date) -> Summary:
    tz = uow.tenant.timezone or "UTC"
    bounds = day_bounds(start, end, tz)
    since, until = bounds[0], bounds[-1]
    queries = SlaReportQueries(uow.session, uow.tenant_id)
    people = {u.id: u.name for u in uow.users.list(1, 500).items}

    groups: dict[str, dict] = {"overall": {}, "priority": {}, "agent": {}}

    def row(dimension: str, key) -> Attainment:
        if key not in groups[dimension]:
            label = {"overall": lambda k: "All tickets", "priority": lambda k: str(k).capitalize(),
                     "agent": lambda k: people.get(k, f"#{k}") if k is not None else "Unassigned"}[dimension](key)
            groups[dimension][key] = Attainment(key, label)
        return groups[dimension][key]

    row("overall", 0)
    for dimension in groups:
        for measure in MEASURES:
            for key, (total, met) in queries.attainment(measure, dimension, since, until).items():
                target = row(dimension, key)
                setattr(target, f"{measure.name}_total", total)
                setattr(target, f"{measure.name}_met", met)
            for key, values in queries.percentiles(measure, dimension, since, until).items():
                target = row(dimension, key)
                setattr(target, f"{measure.name}_median", values.get(50))
                setattr(target, f"{measure.name}_p90", values.get(90))
        for key, count in queries.breaches(dimension, since, until).items():
            row(dimension, key).breaches = count

    days = [DayPoint(start + timedelta(days=i)) for i in range(len(bounds) - 1)]
    for measure in MEASURES:
        for i, (total, met) in queries.daily_attainment(measure, bounds).items():
            setattr(days[i], f"{measure.name}_total", total)
            setattr(days[i], f"{measure.name}_met", met)
    for i, count in queries.daily_breaches(bounds).items():
        days[i].breaches = count

    at_risk, at_risk_total = queries.tickets_in_state("at_risk", NOW_LIST_LIMIT)
    breached, breached_total = queries.tickets_in_state("breached", NOW_LIST_LIMIT)
    by_priority = [groups["priority"][p] for p in reversed(PRIORITIES) if p in groups["priority"]]
    by_agent = sorted(groups["agent"].values(), key=lambda a: (a.key is None, a.label.lower()))
    return Summary(start=start, end=end, timezone=tz, overall=groups["overall"][0], by_priority=by_priority,
                   by_agent=by_agent, days=days, at_risk=at_risk, at_risk_total=at_risk_total,
                   breached=breached, breached_total=breached_total)
