"""Every mutating service writes exactly one correct audit row, and no secret ever reaches one."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.errors import ValidationFailed
from app.extensions import db
from app.models import ApiToken, AuditLog, Tenant, User
from app.services import comments as comment_service
from app.services import people as people_service
from app.services import tickets as ticket_service
from app.services.tenants import create_tenant
from tests.conftest import PASSWORD, make_ticket

SECRET_PASSWORD = "Corr3ct-Horse-Battery"


def _seq(ws) -> int:
    db.session.expire_all()
    return db.session.get(Tenant, ws.tenant.id).audit_seq


def _rows_since(ws, seq: int) -> list[AuditLog]:
    db.session.expire_all()
    stmt = select(AuditLog).where(AuditLog.tenant_id == ws.tenant.id, AuditLog.seq > seq).order_by(AuditLog.seq)
    return list(db.session.scalars(stmt))


def _one_row(ws, seq: int) -> AuditLog:
    rows = _rows_since(ws, seq)
    assert len(rows) == 1, [(r.action, r.entity_type, r.changes) for r in rows]
    return rows[0]


def _assert_actor(row: AuditLog, user: User) -> None:
    assert (row.actor_type, row.actor_id, row.actor_label) == ("user", user.id, user.email)
    assert (row.ip_address, row.user_agent) == ("127.0.0.1", "pytest")


# -- tickets and comments --------------------------------------------------------------------
def test_create_ticket_writes_one_create_row(acme, ctx):
    seq = _seq(acme)
    ticket = make_ticket(acme, priority="high", tags="billing, vip", assignee_id=acme.agent.id)
    row = _one_row(acme, seq)
    assert (row.action, row.entity_type, row.entity_id, row.ticket_number) == \
        ("CREATE", "Ticket", str(ticket.id), ticket.number)
    assert row.changes == {"after": {
        "subject": "Printer on fire", "status": "new", "priority": "high", "requester_name": "Pat Customer",
        "requester_email": "pat@example.com", "assignee_id": acme.agent.id, "tags": ["billing", "vip"],
    }}
    _assert_actor(row, acme.agent)


def test_update_ticket_records_before_and_after_of_changed_fields_only(acme, ctx):
    ticket = make_ticket(acme)
    seq = _seq(acme)
    with acme.uow(acme.lead) as uow:
        ticket_service.update_ticket(uow, ticket.number, {"status": "pending", "priority": "normal", "tags": ["x"]})
        uow.commit()
    row = _one_row(acme, seq)
    assert (row.action, row.entity_type, row.entity_id, row.ticket_number) == \
        ("UPDATE", "Ticket", str(ticket.id), ticket.number)
    # priority was already "normal": not a change
    assert row.changes == {"before": {"status": "new", "tags": []}, "after": {"status": "pending", "tags": ["x"]}}
    _assert_actor(row, acme.lead)


def test_update_ticket_without_a_change_writes_nothing(acme, ctx):
    ticket = make_ticket(acme)
    seq = _seq(acme)
    with acme.uow() as uow:
        ticket_service.update_ticket(uow, ticket.number, {"status": "new"})
        uow.commit()
    assert _rows_since(acme, seq) == []


def test_internal_note_writes_one_comment_row(acme, ctx):
    ticket = make_ticket(acme)
    seq = _seq(acme)
    with acme.uow() as uow:
        comment = comment_service.add_comment(uow, ticket.number, body="Looking into it", public=False)
        uow.commit()
    row = _one_row(acme, seq)
    assert (row.action, row.entity_type, row.entity_id, row.ticket_number) == \
        ("CREATE", "Comment", str(comment.id), ticket.number)
    assert row.changes == {"after": {"public": False, "length": len("Looking into it")}}
    assert "Looking into it" not in json.dumps(row.changes)  # the body itself lives in the comment only
    _assert_actor(row, acme.agent)


def test_public_reply_that_reopens_writes_a_second_row_for_the_status(acme, ctx):
    ticket = make_ticket(acme)
    with acme.uow() as uow:
        ticket_service.update_ticket(uow, ticket.number, {"status": "solved"})
        uow.commit()
    seq = _seq(acme)
    with acme.uow() as uow:
        comment = comment_service.add_comment(uow, ticket.number, body="One more thing", public=True)
        uow.commit()
    rows = _rows_since(acme, seq)
    assert [(r.action, r.entity_type, r.entity_id) for r in rows] == [
        ("CREATE", "Comment", str(comment.id)), ("UPDATE", "Ticket", str(ticket.id))]
    assert rows[1].changes == {"before": {"status": "solved"}, "after": {"status": "open"}}
    assert {r.ticket_number for r in rows} == {ticket.number}
    assert rows[1].seq == rows[0].seq + 1 and rows[1].prev_hash == rows[0].hash


# -- people and tokens ---------------------------------------------------------------------------
def test_create_user_writes_one_row_without_the_password(acme, ctx):
    seq = _seq(acme)
    with acme.uow(acme.admin) as uow:
        user = people_service.create_user(uow, email="New@Acme.test", name="New Person", role="lead",
                                          password=SECRET_PASSWORD)
        uow.commit()
    row = _one_row(acme, seq)
    assert (row.action, row.entity_type, row.entity_id) == ("CREATE", "User", str(user.id))
    assert row.changes == {"after": {"email": "New@acme.test", "name": "New Person", "role": "lead"}}
    _assert_actor(row, acme.admin)


def test_set_role_writes_one_row(acme, ctx):
    seq = _seq(acme)
    with acme.uow(acme.admin) as uow:
        people_service.set_role(uow, acme.agent.id, "lead")
        uow.commit()
    row = _one_row(acme, seq)
    assert (row.action, row.entity_type, row.entity_id) == ("UPDATE", "User", str(acme.agent.id))
    assert row.changes == {"before": {"role": "agent"}, "after": {"role": "lead"}}
    _assert_actor(row, acme.admin)


def test_set_active_writes_one_row_each_way(acme, ctx):
    for active in (False, True):
        seq = _seq(acme)
        with acme.uow(acme.admin) as uow:
            people_service.set_active(uow, acme.agent.id, active)
            uow.commit()
        row = _one_row(acme, seq)
        assert (row.action, row.entity_type, row.entity_id) == ("UPDATE", "User", str(acme.agent.id))
        assert row.changes == {"before": {"active": not active}, "after": {"active": active}}


def test_set_password_writes_one_row_without_password_or_hash(acme, ctx):
    seq = _seq(acme)
    with acme.uow(acme.admin) as uow:
        user = people_service.set_password(uow, acme.agent.id, SECRET_PASSWORD)
        uow.commit()
    row = _one_row(acme, seq)
    assert (row.action, row.entity_type, row.entity_id) == ("UPDATE", "User", str(acme.agent.id))
    assert row.changes == {"after": {"password": "changed"}}
    text = json.dumps(row.changes)
    assert SECRET_PASSWORD not in text and user.password_hash not in text


def test_create_and_revoke_token_write_one_row_each_without_the_secret(acme, ctx):
    seq = _seq(acme)
    with acme.uow(acme.admin) as uow:
        token, secret = people_service.create_token(uow, acme.agent.id, "CRM")
        uow.commit()
    row = _one_row(acme, seq)
    assert (row.action, row.entity_type, row.entity_id) == ("TOKEN_CREATED", "ApiToken", str(token.id))
    assert row.changes == {"after": {"name": "CRM", "user_id": acme.agent.id, "prefix": secret[:10]}}
    assert secret not in json.dumps(row.changes) and token.token_hash not in json.dumps(row.changes)

    seq = _seq(acme)
    with acme.uow(acme.admin) as uow:
        people_service.revoke_token(uow, token.id)
        uow.commit()
    row = _one_row(acme, seq)
    assert (row.action, row.entity_type, row.entity_id) == ("TOKEN_REVOKED", "ApiToken", str(token.id))
    assert row.changes == {"after": {"name": "CRM", "prefix": secret[:10]}}

    seq = _seq(acme)
    with acme.uow(acme.admin) as uow:  # revoking twice changes nothing
        people_service.revoke_token(uow, token.id)
        uow.commit()
    assert _rows_since(acme, seq) == []


def test_create_tenant_starts_its_chain_with_one_system_row(app, ctx):
    tenant = create_tenant("Initech", "initech", "America/Chicago")
    rows = list(db.session.scalars(select(AuditLog).where(AuditLog.tenant_id == tenant.id)))
    assert len(rows) == 1
    row = rows[0]
    assert (row.seq, row.action, row.entity_type, row.entity_id) == (1, "CREATE", "Tenant", str(tenant.id))
    assert (row.actor_type, row.actor_id) == ("system", None)
    assert row.changes == {"after": {"name": "Initech", "slug": "initech", "timezone": "America/Chicago"}}


def test_no_password_hash_or_token_secret_in_any_audit_row(acme, ctx):
    """After every people/token operation, no row's changes mention a secret in any form."""
    with acme.uow(acme.admin) as uow:
        user = people_service.create_user(uow, email="s@acme.test", name="S", password=SECRET_PASSWORD)
        uow.commit()
    with acme.uow(acme.admin) as uow:
        people_service.set_password(uow, user.id, SECRET_PASSWORD + "2")
        _, secret = people_service.create_token(uow, user.id, "t")
        uow.commit()
    db.session.expire_all()
    hashes = [*db.session.scalars(select(User.password_hash)), *db.session.scalars(select(ApiToken.token_hash))]
    secrets = [SECRET_PASSWORD, SECRET_PASSWORD + "2", PASSWORD, secret, *hashes]
    for row in db.session.scalars(select(AuditLog)):
        text = json.dumps(row.changes) + row.actor_label
        for value in secrets:
            assert value not in text, (row.action, row.changes)
        assert "password_hash" not in text and "token_hash" not in text


# -- transactions --------------------------------------------------------------------------------
def test_rolled_back_unit_of_work_leaves_no_audit_row(acme, ctx):
    seq = _seq(acme)
    count = db.session.scalar(select(func.count()).select_from(AuditLog))
    with acme.uow() as uow:
        ticket_service.create_ticket(uow, subject="Never", description="x", requester_name="A",
                                     requester_email="a@example.com")
        uow.audit("UPDATE", "Ticket", 1, {"after": {"x": 1}})
        # leaving without commit()
    with pytest.raises(ValidationFailed), acme.uow() as uow:
        ticket_service.create_ticket(uow, subject="Also never", description="x", requester_name="A",
                                     requester_email="a@example.com")
        ticket_service.create_ticket(uow, subject="", description="", requester_name="", requester_email="")
        uow.commit()
    assert _seq(acme) == seq
    assert db.session.scalar(select(func.count()).select_from(AuditLog)) == count
