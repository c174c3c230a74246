"""Macros: placeholders rendered as plain text, actions applied with the reply in one transaction,
management by leads and admins only, and tenant isolation."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.errors import NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models import AuditLog, Comment, OutboxEvent, Ticket, TicketActivity
from app.models.macros import Macro
from app.services import macros as macro_service
from app.services.replies import send_reply
from tests.conftest import make_ticket

BODY = "Hi {{requester.name}},\n\nabout #{{ ticket.number }} ({{ticket.subject}}): fixed.\n\n{{agent.name}}"


def _macro(ws, user=None, **values):
    data = {"name": "Fixed", "body": BODY, "set_status": "", "add_tags": ""}
    data.update(values)
    with ws.uow(user or ws.lead) as uow:
        macro = macro_service.create_macro(uow, data)
        uow.commit()
    return macro


def _ticket(ws, number=1):
    db.session.expire_all()
    return db.session.scalar(select(Ticket).where(Ticket.tenant_id == ws.tenant.id, Ticket.number == number)
                             .options(selectinload(Ticket.tag_rows)))


def _outside(ws):
    """(status, comment count) of ticket 1 as another connection sees them: what is committed."""
    with db.engine.connect() as conn:
        status = conn.execute(select(Ticket.status).where(Ticket.tenant_id == ws.tenant.id, Ticket.number == 1)).scalar()
        comments = conn.execute(select(func.count()).select_from(Comment).where(Comment.tenant_id == ws.tenant.id)).scalar()
    return status, comments


def _count(model, ws):
    return db.session.scalar(select(func.count()).select_from(model).where(model.tenant_id == ws.tenant.id))


# -- rendering ----------------------------------------------------------------------------------
def test_placeholders_are_replaced_for_the_ticket_and_the_agent(ctx, acme):
    make_ticket(acme, requester_name="Pat Customer", subject="Printer on fire")
    macro = _macro(acme)
    with acme.uow(acme.agent) as uow:
        _, text = macro_service.render_for_ticket(uow, 1, macro.id)
    assert text == "Hi Pat Customer,\n\nabout #1 (Printer on fire): fixed.\n\nAgent Acme"


def test_values_are_plain_text_never_templates(ctx, acme):
    """HTML and placeholder-looking text in a requester's name stay text: one pass, no template engine."""
    make_ticket(acme, requester_name="<img src=x onerror=alert(1)> {{agent.name}} {% raw %}")
    macro = _macro(acme, body="Dear {{requester.name}} / {{ticket.number}}")
    with acme.uow(acme.agent) as uow:
        _, text = macro_service.render_for_ticket(uow, 1, macro.id)
    assert text == "Dear <img src=x onerror=alert(1)> {{agent.name}} {% raw %} / 1"
    assert type(text) is str  # not Markup: pages escape it like any other text


def test_render_body_handles_spacing_and_leaves_unknown_names():
    values = {"requester.name": "Pat", "ticket.number": "7"}
    assert macro_service.render_body("{{requester.name}}|{{  ticket.number  }}|{{x.y}}|{{", values) == \
        "Pat|7|{{x.y}}|{{"


# -- management ---------------------------------------------------------------------------------
def test_unknown_placeholders_and_bad_actions_are_refused_per_field(ctx, acme):
    with pytest.raises(ValidationFailed) as caught:
        _macro(acme, name="", body="Hello {{requester.phone}}", set_status="closed", add_tags="ok, not ok!")
    errors = caught.value.errors
    assert set(errors) == {"name", "body", "set_status", "add_tags"}
    assert "{{requester.phone}}" in errors["body"][0]
    assert _count(Macro, acme) == 0


def test_names_are_unique_per_tenant_only(ctx, acme, globex):
    _macro(acme, name="Refund")
    with pytest.raises(ValidationFailed) as caught:
        _macro(acme, name="refund")
    assert "name" in caught.value.errors
    _macro(globex, name="Refund")  # another workspace may use the same name


@pytest.mark.parametrize("role", ["agent"])
def test_agents_cannot_manage_macros(ctx, acme, role):
    with pytest.raises(PermissionDenied):
        _macro(acme, user=getattr(acme, role))
    macro = _macro(acme)
    for change in (lambda uow: macro_service.update_macro(uow, macro.id, {"name": "x", "body": "y"}),
                   lambda uow: macro_service.delete_macro(uow, macro.id)):
        with pytest.raises(PermissionDenied):
            with acme.uow(acme.agent) as uow:
                change(uow)
    assert _count(Macro, acme) == 1


def test_update_and_delete_are_audited(ctx, acme):
    macro = _macro(acme)
    with acme.uow(acme.admin) as uow:
        macro_service.update_macro(uow, macro.id, {"name": "Solved", "body": "Done.", "set_status": "solved",
                                                   "add_tags": "Done, billing"})
        uow.commit()
    db.session.expire_all()
    stored = db.session.get(Macro, macro.id)
    assert (stored.name, stored.set_status, stored.tags) == ("Solved", "solved", ["done", "billing"])
    with acme.uow(acme.lead) as uow:
        macro_service.delete_macro(uow, macro.id)
        uow.commit()
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.entity_type == "Macro")
                                 .order_by(AuditLog.seq)).all()
    assert actions == ["CREATE", "UPDATE", "DELETE"]
    assert _count(Macro, acme) == 0


# -- actions with the reply ------------------------------------------------------------------------
def test_actions_are_applied_with_the_reply_in_one_transaction(ctx, acme):
    make_ticket(acme, tags="printer")
    macro = _macro(acme, set_status="pending", add_tags="waiting, printer")
    with acme.uow(acme.agent) as uow:
        comment = send_reply(uow, 1, body="We need the model number.", public=True, macro_id=macro.id)
        # Inside the unit of work both are there; another connection sees neither until the one commit.
        assert _ticket(acme).status == "pending"
        assert _outside(acme) == ("new", 0)
        uow.commit()
    assert _outside(acme) == ("pending", 1)
    ticket = _ticket(acme)
    assert ticket.status == "pending"
    assert sorted(ticket.tags) == ["printer", "waiting"]
    assert db.session.get(Comment, comment.id).body == "We need the model number."
    fields = db.session.scalars(select(TicketActivity.field).where(TicketActivity.ticket_id == ticket.id)).all()
    assert {"status", "tags"} <= set(fields)


def test_a_failing_action_rolls_back_the_reply_too(ctx, acme):
    """The macro's tags are refused (too many): the reply is not kept without its actions."""
    make_ticket(acme)
    macro = _macro(acme, add_tags=",".join(f"t{i}" for i in range(15)))
    with acme.uow() as uow:
        from app.services import tickets as ticket_service

        ticket_service.update_ticket(uow, 1, {"tags": ",".join(f"x{i}" for i in range(10))})
        uow.commit()
    before = (_count(Comment, acme), _count(AuditLog, acme), _count(OutboxEvent, acme))
    with pytest.raises(ValidationFailed):  # 10 + 15 tags: more than the 20 a ticket may carry
        with acme.uow(acme.agent) as uow:
            send_reply(uow, 1, body="Tagging", public=True, macro_id=macro.id)
            uow.commit()
    db.session.rollback()
    assert (_count(Comment, acme), _count(AuditLog, acme), _count(OutboxEvent, acme)) == before
    assert _ticket(acme).status == "new"


def test_another_tenants_macro_is_not_found_and_nothing_changes(ctx, acme, globex):
    make_ticket(acme)
    theirs = _macro(globex, set_status="solved", add_tags="globex")
    before = (_count(Comment, acme), _count(AuditLog, acme), _count(OutboxEvent, acme))
    for attempt in (lambda uow: send_reply(uow, 1, body="Hi", public=True, macro_id=theirs.id),
                    lambda uow: macro_service.render_for_ticket(uow, 1, theirs.id),
                    lambda uow: macro_service.get_macro(uow, theirs.id)):
        with pytest.raises(NotFound):
            with acme.uow(acme.lead) as uow:
                attempt(uow)
                uow.commit()
    with pytest.raises(NotFound):
        with acme.uow(acme.admin) as uow:
            macro_service.update_macro(uow, theirs.id, {"name": "Stolen", "body": "x"})
    db.session.rollback()
    assert (_count(Comment, acme), _count(AuditLog, acme), _count(OutboxEvent, acme)) == before
    ticket = _ticket(acme)
    assert ticket.status == "new" and ticket.tags == []
    assert db.session.get(Macro, theirs.id).name == "Fixed"
