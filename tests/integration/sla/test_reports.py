"""Dashboard numbers against a hand-computed fixture (round-the-clock policy, Europe/Paris).

Targets: normal 60 / 240 minutes, high 30 / 120 (first response / resolution).

| ticket | prio   | assignee   | created        | first response  | solved           |
|--------|--------|------------|----------------|-----------------|------------------|
| T1     | normal | agent      | Mon 2 Jun 10:00 | +30 met         | +200 met         |
| T2     | normal | agent      | Mon 10:00      | +90 missed      | +300 missed      |
| T3     | high   | lead       | Mon 10:00      | +10 met         | +100 met         |
| T4     | high   | unassigned | Mon 10:00      | +45 missed      | open, breached   |
| T5     | normal | agent      | Mon 10:00      | +60 met (=)     | +239 met         |
| T6     | normal | lead       | Tue 3 Jun 10:00 | +20 met        | +500 missed      |

First response minutes 10 20 30 45 60 90: median (rank 3) 30, p90 (rank 6) 90, 4/6 met.
Resolution minutes 100 200 239 300 500: median (rank 3) 239, p90 (rank 5) 500, 3/5 met.
Breaches escalated (the sweep runs before every action): T4 first response (10:45), T2 first
response (11:30), T4 resolution (13:20), T2 resolution (15:00), T6 resolution (Tue 18:20) = 5.
"""
from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from app.repositories.sla_reports import MEASURES, SlaReportQueries
from app.services import comments, tickets
from app.services.sla import policies, reports
from app.services.sla.reports import sla_summary
from app.services.sla.sweep import sweep_breaches
from tests.conftest import make_ticket

PARIS = ZoneInfo("Europe/Paris")
MON = datetime(2025, 6, 2, 10, 0, tzinfo=PARIS)
TUE = MON + timedelta(days=1)


def build(acme) -> dict:
    with acme.uow(acme.admin) as uow:
        default = next(p for p in policies.list_policies(uow) if p.is_default)
        policies.update_policy(uow, default.id, {"business_hours": False, "targets": {
            "normal": {"first_response_minutes": 60, "resolution_minutes": 240},
            "high": {"first_response_minutes": 30, "resolution_minutes": 120}}})
        uow.commit()
    numbers: dict[str, int] = {}

    def create(name, priority, assignee):
        numbers[name] = make_ticket(acme, subject=name, priority=priority,
                                    assignee_id=assignee.id if assignee else None).number

    def respond(name):
        with acme.uow() as uow:
            comments.add_comment(uow, numbers[name], body="Answer", public=True)
            uow.commit()

    def solve(name):
        with acme.uow() as uow:
            tickets.update_ticket(uow, numbers[name], {"status": "solved"})
            uow.commit()

    timeline = [
        (MON, lambda: [create("T1", "normal", acme.agent), create("T2", "normal", acme.agent),
                       create("T3", "high", acme.lead), create("T4", "high", None),
                       create("T5", "normal", acme.agent)]),
        (MON + timedelta(minutes=10), lambda: respond("T3")),
        (MON + timedelta(minutes=30), lambda: respond("T1")),
        (MON + timedelta(minutes=45), lambda: respond("T4")),
        (MON + timedelta(minutes=60), lambda: respond("T5")),
        (MON + timedelta(minutes=90), lambda: respond("T2")),
        (MON + timedelta(minutes=100), lambda: solve("T3")),
        (MON + timedelta(minutes=200), lambda: solve("T1")),
        (MON + timedelta(minutes=239), lambda: solve("T5")),
        (MON + timedelta(minutes=300), lambda: solve("T2")),
        (TUE, lambda: create("T6", "normal", acme.lead)),
        (TUE + timedelta(minutes=20), lambda: respond("T6")),
        (TUE + timedelta(minutes=500), lambda: solve("T6")),
    ]
    for moment, action in timeline:
        with time_machine.travel(moment, tick=False):
            sweep_breaches()
            action()
    return numbers


@pytest.fixture
def fixture(ctx, acme):
    return build(acme)


def summary(acme, start=date(2025, 6, 2), end=date(2025, 6, 3)):
    with time_machine.travel(TUE + timedelta(hours=12), tick=False):
        return sla_summary(acme.uow(acme.lead), start, end)


def numbers_of(a) -> tuple:
    return (a.first_response_met, a.first_response_total, a.first_response_median, a.first_response_p90,
            a.resolution_met, a.resolution_total, a.resolution_median, a.resolution_p90, a.breaches)


def test_overall_numbers(acme, fixture):
    s = summary(acme)
    assert numbers_of(s.overall) == (4, 6, 30, 90, 3, 5, 239, 500, 5)
    assert s.overall.first_response_pct == 66.7
    assert s.overall.resolution_pct == 60.0


def test_per_priority(acme, fixture):
    s = summary(acme)
    rows = {a.key: numbers_of(a) for a in s.by_priority}
    assert rows == {
        "normal": (3, 4, 30, 90, 2, 4, 239, 500, 3),
        "high": (1, 2, 10, 45, 1, 1, 100, 100, 2),
    }
    assert [a.key for a in s.by_priority] == ["high", "normal"]  # most urgent first


def test_per_agent(acme, fixture):
    s = summary(acme)
    rows = {a.label: numbers_of(a) for a in s.by_agent}
    assert rows == {
        acme.agent.name: (2, 3, 60, 90, 2, 3, 239, 300, 2),
        acme.lead.name: (2, 2, 10, 20, 1, 2, 100, 500, 1),
        "Unassigned": (0, 1, 45, 45, 0, 0, None, None, 2),
    }


def test_daily_trend_and_tickets_breached_now(acme, fixture):
    s = summary(acme)
    assert [(d.day, d.first_response_met, d.first_response_total, d.resolution_met, d.resolution_total, d.breaches)
            for d in s.days] == [(date(2025, 6, 2), 3, 5, 3, 4, 4), (date(2025, 6, 3), 1, 1, 0, 1, 1)]
    assert [t.number for t in s.breached] == [fixture["T4"]]
    assert s.breached_total == 1 and s.at_risk_total == 0


def test_the_range_is_local_days(acme, fixture):
    s = summary(acme, date(2025, 6, 3), date(2025, 6, 3))
    assert numbers_of(s.overall) == (1, 1, 20, 20, 0, 1, 500, 500, 1)
    assert len(s.days) == 1


METHODS = ["window"] + (["ordered_set"] if os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql") else [])


@pytest.mark.parametrize("method", METHODS)
def test_both_percentile_implementations_agree_with_the_hand_computed_numbers(acme, fixture, method):
    bounds = reports.day_bounds(date(2025, 6, 2), date(2025, 6, 3), "Europe/Paris")
    with acme.uow(acme.lead) as uow:
        queries = SlaReportQueries(uow.session, uow.tenant_id)
        first, resolution = MEASURES
        assert queries.percentiles(first, "overall", bounds[0], bounds[-1], method) == {0: {50: 30, 90: 90}}
        assert queries.percentiles(resolution, "priority", bounds[0], bounds[-1], method) == {
            "normal": {50: 239, 90: 500}, "high": {50: 100, 90: 100}}
        assert queries.percentiles(first, "agent", bounds[0], bounds[-1], method) == {
            acme.agent.id: {50: 60, 90: 90}, acme.lead.id: {50: 10, 90: 20}, None: {50: 45, 90: 45}}


def test_bad_ranges_are_refused_per_parameter():
    from app.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        reports.parse_range("2025-13-01", "x", "UTC")
    assert set(exc.value.errors) == {"from", "to"}
    with pytest.raises(ValidationFailed) as exc:
        reports.parse_range("2025-06-02", "2025-06-01", "UTC")
    assert set(exc.value.errors) == {"to"}
    assert reports.parse_range(None, None, "UTC", today=date(2025, 6, 30)) == (date(2025, 6, 1), date(2025, 6, 30))
