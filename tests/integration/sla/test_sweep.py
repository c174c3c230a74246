"""The breach sweep: marks and escalates each warning and breach once, also with two sweeps at once."""
from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.models import Notification, OutboxEvent, SlaEvent, Ticket
from app.services.sla import policies
from app.services.sla.sweep import sweep_breaches
from tests.conftest import make_ticket

PARIS = ZoneInfo("Europe/Paris")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def sweep_at(*args):
    with time_machine.travel(at(*args), tick=False):
        return sweep_breaches()


@pytest.fixture
def urgent(ctx, acme):
    """Urgent, assigned to the agent, opened Friday 16:30: first response due Monday 09:30 (at risk 09:18)."""
    with time_machine.travel(at(2025, 6, 6, 16, 30), tick=False):
        return make_ticket(acme, priority="urgent", assignee_id=acme.agent.id)


def test_nothing_due_nothing_done(ctx, acme, urgent):
    assert sweep_at(2025, 6, 9, 9, 0) == {}
    assert count(Notification) == 0


def test_warning_then_breach_each_escalate_exactly_once(ctx, acme, urgent):
    assert sweep_at(2025, 6, 9, 9, 20) == {"reply_warning": 1}
    ticket = db.session.get(Ticket, urgent.id)
    assert ticket.sla_state == "at_risk" and ticket.reply_warned and ticket.reply_warn_at is None
    # The assignee and the tenant's lead hear about it; the admin does not.
    users = set(db.session.scalars(select(Notification.user_id).where(Notification.event_type == "ticket.sla_warning")))
    assert users == {acme.agent.id, acme.lead.id}
    assert count(OutboxEvent, OutboxEvent.event_type == "ticket.sla_warning") == 1

    assert sweep_at(2025, 6, 9, 9, 25) == {}  # the warning is spent
    assert sweep_at(2025, 6, 9, 9, 31) == {"reply_breach": 1}
    assert sweep_at(2025, 6, 9, 9, 40) == {}
    assert sweep_at(2025, 6, 9, 12, 0) == {}
    db.session.expire_all()
    ticket = db.session.get(Ticket, urgent.id)
    assert ticket.sla_state == "breached" and ticket.reply_breached and ticket.reply_breach_at is None
    assert count(Notification, Notification.event_type == "ticket.sla_breached") == 2
    assert count(Notification) == 4
    event = db.session.scalar(select(OutboxEvent).where(OutboxEvent.event_type == "ticket.sla_breached"))
    assert event.payload["ticket"]["number"] == urgent.number
    assert event.payload["sla"]["clock"] == "first_response"
    assert [e for (e,) in db.session.execute(select(SlaEvent.event).where(SlaEvent.clock == "first_response")
                                             .order_by(SlaEvent.id))] == ["started", "warning", "breached"]


def test_a_late_sweep_sends_the_breach_without_the_warning(ctx, acme, urgent):
    assert sweep_at(2025, 6, 9, 10, 0) == {"reply_breach": 1}
    assert sweep_at(2025, 6, 9, 10, 5) == {}
    assert count(Notification, Notification.event_type == "ticket.sla_warning") == 0


def test_pause_and_resume_of_a_breached_ticket_does_not_escalate_again(ctx, acme, urgent):
    from app.services import comments, tickets

    with time_machine.travel(at(2025, 6, 9, 9, 0), tick=False), acme.uow() as uow:
        comments.add_comment(uow, urgent.number, body="On it", public=True)
        uow.commit()
    assert sweep_at(2025, 6, 9, 16, 50) == {"resolution_breach": 1}  # due Monday 16:30
    for status, moment in (("pending", (2025, 6, 9, 16, 55)), ("open", (2025, 6, 10, 10, 0))):
        with time_machine.travel(at(*moment), tick=False), acme.uow() as uow:
            tickets.update_ticket(uow, urgent.number, {"status": status})
            uow.commit()
    assert sweep_at(2025, 6, 10, 10, 5) == {}
    assert count(Notification, Notification.event_type == "ticket.sla_breached") == 2


def test_policy_may_raise_the_priority_of_a_breached_ticket(ctx, acme):
    with acme.uow(acme.admin) as uow:
        default = next(p for p in policies.list_policies(uow) if p.is_default)
        policies.update_policy(uow, default.id, {"raise_priority_on_breach": True})
        uow.commit()
    with time_machine.travel(at(2025, 6, 9, 9, 0), tick=False):
        ticket = make_ticket(acme, priority="normal")  # first response due 17:00
    assert sweep_at(2025, 6, 9, 17, 1) == {"reply_breach": 1, "priority_raised": 1}
    db.session.expire_all()
    raised = db.session.get(Ticket, ticket.id)
    assert raised.priority == "high"
    assert raised.reply_breached and raised.reply_breach_at is None  # still breached, not escalated again
    assert sweep_at(2025, 6, 9, 17, 10) == {}


def _breach_many(acme, n):
    with time_machine.travel(at(2025, 6, 9, 9, 0), tick=False):
        return [make_ticket(acme, priority="urgent", assignee_id=acme.agent.id, subject=f"T{i}").id for i in range(n)]


def test_two_concurrent_sweeps_escalate_each_breach_once(app, ctx, acme):
    ids = _breach_many(acme, 12)
    db.session.remove()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                results.append(sweep_breaches(at(2025, 6, 9, 11, 0)))
                db.session.remove()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sum(r.get("reply_breach", 0) for r in results) == len(ids)
    assert count(SlaEvent, SlaEvent.event == "breached") == len(ids)
    assert count(OutboxEvent, OutboxEvent.event_type == "ticket.sla_breached") == len(ids)
    assert count(Notification, Notification.event_type == "ticket.sla_breached") == 2 * len(ids)
    assert count(OutboxEvent, OutboxEvent.event_type == "ticket.sla_warning") == 0
