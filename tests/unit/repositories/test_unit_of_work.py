"""The unit of work commits a change with its audit rows and outbox events, or none of them."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.errors import InvalidTransition
from app.extensions import db
from app.models import AuditLog, Comment, OutboxEvent, Tenant, Ticket, TicketActivity, TicketTag
from app.models.audit import GENESIS, chain_hash
from app.repositories import unit_of_work as uow_module
from app.services import comments as comment_service
from app.services import tickets as ticket_service
from tests.conftest import make_ticket

TABLES = (Ticket, TicketTag, TicketActivity, Comment, AuditLog, OutboxEvent)


def _counts() -> dict[str, int]:
    db.session.expire_all()
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in TABLES}


def _tenant_state(ws) -> tuple:
    db.session.expire_all()
    t = db.session.get(Tenant, ws.tenant.id)
    return t.ticket_seq, t.audit_seq, t.audit_head


class Boom(RuntimeError):
    pass


def test_service_raising_mid_way_leaves_nothing(acme, ctx, monkeypatch):
    make_ticket(acme)
    before, state = _counts(), _tenant_state(acme)

    # ticket_payload runs after the ticket, its tags and its activity are flushed and the audit row is queued.
    def explode(ticket):
        assert db.session.scalar(select(func.count()).select_from(Ticket)) == 2  # really written mid-way
        raise Boom()

    monkeypatch.setattr(ticket_service, "ticket_payload", explode)
    with pytest.raises(Boom), acme.uow() as uow:
        ticket_service.create_ticket(uow, subject="Half done", description="x", requester_name="A",
                                     requester_email="a@example.com", tags="a, b", assignee_id=acme.agent.id)
        uow.commit()
    assert _counts() == before
    assert _tenant_state(acme) == state
    monkeypatch.undo()
    assert make_ticket(acme).number == 2  # the failed attempt burnt no number


def test_leaving_without_commit_rolls_back(acme, ctx):
    before, state = _counts(), _tenant_state(acme)
    with acme.uow() as uow:
        ticket_service.create_ticket(uow, subject="Forgotten", description="x", requester_name="A",
                                     requester_email="a@example.com")
        uow.session.flush()
    assert _counts() == before
    assert _tenant_state(acme) == state


def test_domain_error_after_writes_rolls_back_comment(acme, ctx, monkeypatch):
    make_ticket(acme)
    before = _counts()

    def refuse(*args, **kwargs):
        raise InvalidTransition("refused mid-way")

    monkeypatch.setattr(comment_service, "reopen_for_reply", refuse)
    with pytest.raises(InvalidTransition), acme.uow() as uow:
        comment_service.add_comment(uow, 1, body="Hello", public=True)
        uow.commit()
    assert _counts() == before


def test_failure_inside_commit_rolls_back_everything(acme, ctx, monkeypatch):
    before, state = _counts(), _tenant_state(acme)
    original = uow_module.UnitOfWork._chain_audit_rows

    def chain_then_fail(self):
        original(self)
        raise Boom()

    monkeypatch.setattr(uow_module.UnitOfWork, "_chain_audit_rows", chain_then_fail)
    with pytest.raises(Boom), acme.uow() as uow:
        ticket_service.create_ticket(uow, subject="x", description="x", requester_name="A",
                                     requester_email="a@example.com")
        uow.commit()
    assert _counts() == before
    assert _tenant_state(acme) == state


def test_commit_writes_audit_rows_and_outbox_events(acme, ctx, monkeypatch):
    dispatched: list[list[str]] = []
    monkeypatch.setattr(uow_module, "after_commit_hooks", [dispatched.append])
    before = _counts()
    with acme.uow() as uow:
        ticket = ticket_service.create_ticket(uow, subject="Committed", description="x", requester_name="A",
                                              requester_email="a@example.com", assignee_id=acme.lead.id)
        uow.commit()
    after = _counts()
    assert after["Ticket"] == before["Ticket"] + 1
    assert after["AuditLog"] == before["AuditLog"] + 1
    assert after["OutboxEvent"] == before["OutboxEvent"] + 2

    audit = db.session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert (audit.action, audit.entity_type, audit.entity_id, audit.ticket_number) == \
        ("CREATE", "Ticket", str(ticket.id), ticket.number)
    assert (audit.actor_type, audit.actor_id, audit.actor_label) == ("user", acme.agent.id, acme.agent.email)
    assert audit.changes["after"]["subject"] == "Committed"
    assert audit.tenant_id == acme.tenant.id

    events = list(db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc()).limit(2)))[::-1]
    assert [e.event_type for e in events] == ["ticket.created", "ticket.assigned"]
    assert all(e.tenant_id == acme.tenant.id and e.dispatched_at is None for e in events)
    assert events[0].payload["ticket"]["number"] == ticket.number
    assert events[1].payload["assigneeId"] == acme.lead.id
    # After the commit, the hooks get exactly the committed events' ids.
    assert dispatched == [[e.event_id for e in events]]


def test_audit_rows_form_a_hash_chain_per_tenant(acme, globex, ctx):
    make_ticket(acme)
    make_ticket(globex)
    with acme.uow() as uow:
        ticket_service.update_ticket(uow, 1, {"status": "open", "priority": "high"})
        uow.commit()
    for ws in (acme, globex):
        rows = list(db.session.scalars(select(AuditLog).where(AuditLog.tenant_id == ws.tenant.id)
                                       .order_by(AuditLog.seq)))
        assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
        head = GENESIS
        for row in rows:
            assert row.prev_hash == head
            assert row.hash == chain_hash(head, row)
            head = row.hash
        assert _tenant_state(ws)[1:] == (len(rows), head)


def test_rolled_back_work_does_not_reach_the_hooks(acme, ctx, monkeypatch):
    dispatched: list = []
    monkeypatch.setattr(uow_module, "after_commit_hooks", [dispatched.append])
    with pytest.raises(Boom), acme.uow() as uow:
        ticket_service.create_ticket(uow, subject="x", description="x", requester_name="A",
                                     requester_email="a@example.com")
        raise Boom()
    assert dispatched == []
