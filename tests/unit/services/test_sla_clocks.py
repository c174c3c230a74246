"""Ticket SLA clocks through the ticket and comment services (Europe/Paris, Mon-Fri 09:00-17:00).

Default targets for urgent: first response 60, next reply 120, resolution 480 business minutes.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import SlaEvent, Ticket
from app.repositories.unit_of_work import Actor, UnitOfWork
from app.services import comments, tickets
from app.services.sla import clocks, policies
from tests.conftest import make_ticket

PARIS = ZoneInfo("Europe/Paris")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def travel(*args):
    return time_machine.travel(at(*args), tick=False)


def change(ws, number, **fields):
    with ws.uow() as uow:
        ticket = tickets.update_ticket(uow, number, fields)
        uow.commit()
    return ticket


def reply(ws, number, *, public=True, requester=False):
    actor_uow = UnitOfWork(ws.tenant, Actor.system("mail")) if requester else ws.uow()
    with actor_uow as uow:
        comments.add_comment(uow, number, body="Hello", public=public)
        uow.commit()


def load(number) -> Ticket:
    db.session.expire_all()
    return db.session.scalar(select(Ticket).where(Ticket.number == number))


def history(ticket) -> list[tuple[str, str]]:
    rows = db.session.scalars(select(SlaEvent).where(SlaEvent.ticket_id == ticket.id).order_by(SlaEvent.id))
    return [(r.clock, r.event) for r in rows]


@pytest.fixture
def friday_ticket(ctx, acme):
    with travel(2025, 6, 6, 16, 30):  # a Friday
        return make_ticket(acme, priority="urgent").number


def test_new_ticket_gets_business_hours_deadlines(ctx, acme, friday_ticket):
    t = load(friday_ticket)
    assert t.first_response_due_at == at(2025, 6, 9, 9, 30)  # Monday
    assert t.resolution_due_at == at(2025, 6, 9, 16, 30)  # 30 min on Friday + 7h30 on Monday
    assert t.reply_due_at == t.first_response_due_at
    assert t.sla_due_at == t.first_response_due_at
    assert t.sla_state == "ok"
    assert t.reply_warn_at == at(2025, 6, 9, 9, 18)  # 80 % of 60 minutes
    assert t.sla_policy_id is not None
    assert history(t) == [("first_response", "started"), ("resolution", "started")]


def test_first_public_agent_reply_is_the_first_response(ctx, acme, friday_ticket):
    with travel(2025, 6, 9, 9, 5):
        reply(acme, friday_ticket, public=False)  # an internal note is not a response
        reply(acme, friday_ticket, requester=True)  # nor is the requester writing again
    assert load(friday_ticket).first_response_at is None
    with travel(2025, 6, 9, 9, 10):
        reply(acme, friday_ticket)
    t = load(friday_ticket)
    assert t.first_response_at == at(2025, 6, 9, 9, 10)
    assert t.first_response_met is True
    assert t.first_response_minutes == 40  # 30 on Friday, 10 on Monday
    assert t.reply_due_at is None and t.reply_breach_at is None and t.reply_warn_at is None
    assert t.sla_due_at == t.resolution_due_at
    assert ("first_response", "met") in history(t)


def test_late_first_response_is_recorded_as_missed(ctx, acme, friday_ticket):
    with travel(2025, 6, 9, 11, 0):
        reply(acme, friday_ticket)
    t = load(friday_ticket)
    assert t.first_response_met is False
    assert t.first_response_minutes == 150


def test_requester_message_after_the_first_response_starts_the_next_reply_clock(ctx, acme, friday_ticket):
    with travel(2025, 6, 9, 9, 10):
        reply(acme, friday_ticket)
    with travel(2025, 6, 9, 16, 0):
        reply(acme, friday_ticket, requester=True)
    t = load(friday_ticket)
    assert t.awaiting_reply_since == at(2025, 6, 9, 16, 0)
    assert t.reply_due_at == at(2025, 6, 10, 10, 0)  # 120 business minutes: 1 h Monday, 1 h Tuesday
    with travel(2025, 6, 10, 9, 30):
        reply(acme, friday_ticket)
    t = load(friday_ticket)
    assert t.awaiting_reply_since is None and t.reply_due_at is None
    assert ("next_reply", "started") in history(t) and ("next_reply", "met") in history(t)


def test_pending_stops_the_resolution_clock_and_moves_the_deadline_out(ctx, acme, friday_ticket):
    with travel(2025, 6, 9, 9, 10):
        reply(acme, friday_ticket)
    with travel(2025, 6, 9, 10, 0):
        change(acme, friday_ticket, status="pending")
    t = load(friday_ticket)
    assert t.sla_paused_at == at(2025, 6, 9, 10, 0)
    assert t.sla_state == "paused"
    assert t.resolution_breach_at is None and t.resolution_warn_at is None  # nothing to escalate while paused
    with travel(2025, 6, 10, 10, 0):  # a business day later (7 h Monday + 1 h Tuesday)
        change(acme, friday_ticket, status="open")
    t = load(friday_ticket)
    assert t.sla_paused_at is None
    assert t.sla_paused_minutes == 480
    assert t.resolution_due_at == at(2025, 6, 10, 16, 30)
    assert t.resolution_breach_at == t.resolution_due_at
    assert ("resolution", "paused") in history(t) and ("resolution", "resumed") in history(t)


def test_on_hold_across_a_weekend_counts_only_business_time(ctx, acme, friday_ticket):
    with travel(2025, 6, 6, 16, 45):
        change(acme, friday_ticket, status="on_hold")
    with travel(2025, 6, 9, 9, 15):
        change(acme, friday_ticket, status="open")
    t = load(friday_ticket)
    assert t.sla_paused_minutes == 30  # 15 minutes on Friday, 15 on Monday
    assert t.resolution_due_at == at(2025, 6, 9, 17, 0)


def test_solving_records_resolution_and_reopening_restarts_where_it_stood(ctx, acme, friday_ticket):
    with travel(2025, 6, 9, 11, 0):
        change(acme, friday_ticket, status="solved")
    t = load(friday_ticket)
    assert t.resolved_at == at(2025, 6, 9, 11, 0)
    assert t.resolution_met is True
    assert t.resolution_minutes == 150
    assert t.sla_state == "done" and t.sla_due_at is None
    with travel(2025, 6, 10, 11, 0):  # reopened by the requester a business day later
        reply(acme, friday_ticket, requester=True)
    t = load(friday_ticket)
    assert t.status == "open"
    assert t.resolved_at is None and t.resolution_met is None
    assert t.sla_paused_minutes == 480
    assert t.resolution_due_at == at(2025, 6, 10, 16, 30)  # 150 minutes used, 330 left from Tuesday 11:00
    assert ("resolution", "reopened") in history(t)
    with travel(2025, 6, 10, 17, 0):
        change(acme, friday_ticket, status="solved")
    t = load(friday_ticket)
    assert t.resolution_met is False and t.resolution_minutes == 510


def test_priority_change_recomputes_the_deadlines(ctx, acme, friday_ticket):
    with travel(2025, 6, 9, 9, 0):
        change(acme, friday_ticket, priority="low")  # 960 first response, 4800 resolution
    t = load(friday_ticket)
    assert t.first_response_due_at == at(2025, 6, 10, 16, 30)
    assert t.resolution_due_at == at(2025, 6, 20, 16, 30)
    assert ("resolution", "recalculated") in history(t)


def test_a_tagged_policy_around_the_clock_applies_to_tagged_tickets(ctx, acme):
    with acme.uow(acme.admin) as uow:
        policies.create_policy(uow, {"name": "VIP", "match_tag": "vip", "business_hours": False, "targets": {
            p: {"first_response_minutes": 30, "resolution_minutes": 240} for p in ("low", "normal", "high", "urgent")}})
        uow.commit()
    with travel(2025, 6, 6, 16, 30):
        number = make_ticket(acme, tags="vip").number
        plain = make_ticket(acme).number
    t = load(number)
    assert t.first_response_due_at == at(2025, 6, 6, 17, 0)
    assert t.resolution_due_at == at(2025, 6, 6, 20, 30)
    assert load(plain).first_response_due_at == at(2025, 6, 9, 16, 30)  # normal: 480 business minutes
    with travel(2025, 6, 6, 16, 40):
        change(acme, number, tags=[])  # no longer VIP: the default policy
    assert load(number).first_response_due_at == at(2025, 6, 9, 16, 30)


def test_editing_a_policy_recomputes_open_tickets(ctx, acme, friday_ticket):
    with acme.uow(acme.admin) as uow:
        default = next(p for p in policies.list_policies(uow) if p.is_default)
        policies.update_policy(uow, default.id, {"targets": {"urgent": {"first_response_minutes": 120}}})
        uow.commit()  # immediate mode runs sla.recompute_open_tickets after commit
    assert load(friday_ticket).first_response_due_at == at(2025, 6, 9, 10, 30)


def test_clock_views_and_live_state(ctx, acme, friday_ticket):
    t = load(friday_ticket)
    assert clocks.live_state(t, at(2025, 6, 9, 9, 0)) == "ok"
    assert clocks.live_state(t, at(2025, 6, 9, 9, 20)) == "at_risk"
    assert clocks.live_state(t, at(2025, 6, 9, 9, 31)) == "breached"
    views = {v.name: v for v in clocks.clock_views(t, at(2025, 6, 9, 9, 0))}
    assert views["first_response"].seconds_left == 30 * 60
    assert views["resolution"].running
