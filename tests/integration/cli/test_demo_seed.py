"""flask demo seed: idempotent demo workspaces, their logins, and the bulk import.

The seed's ~800 outbox events stay in the outbox here, as when the queue is
down: the suite runs jobs inline (HUEY_IMMEDIATE), which would multiply these
tests' time, and what jobs do with events is tested with the job system.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.cli.bulk_import import import_tickets
from app.cli import demo_workspaces
from app.cli.demo_workspaces import demo_logins
from app.extensions import db
from app.models import AuditLog, Comment, Tenant, Ticket, TicketTag, User
from app.models.audit import GENESIS, chain_hash
from app.models.base import utcnow
from app.repositories import unit_of_work
from app.services.people import password_matches
from tests.conftest import make_ticket


@pytest.fixture(autouse=True)
def events_stay_in_the_outbox(monkeypatch):
    monkeypatch.setattr(unit_of_work, "after_commit_hooks", [])
    monkeypatch.setattr(unit_of_work, "job_dispatcher", [])


def seed(app, *args):
    result = app.test_cli_runner().invoke(args=["demo", "seed", *args])
    assert result.exit_code == 0, result.output
    return result


def snapshot(app) -> dict:
    """Row count of every table, and each tenant's counters and chain head."""
    with app.app_context():
        counts = {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}
        heads = db.session.execute(
            select(Tenant.slug, Tenant.ticket_seq, Tenant.audit_seq, Tenant.audit_head).order_by(Tenant.slug)
        ).all()
        db.session.remove()
    return {"counts": counts, "tenants": [tuple(row) for row in heads]}


def tenant_id(slug: str) -> int:
    return db.session.scalar(select(Tenant.id).where(Tenant.slug == slug))


def test_seed_builds_the_demo_once_and_changes_nothing_the_second_time(app):
    first = seed(app)
    assert "acme: workspace created, 4 people and 50 tickets added." in first.output
    assert "globex: workspace created, 2 people and 50 tickets added." in first.output
    check_realistic_tickets(app)
    check_demo_logins(app, first.output)
    before = snapshot(app)
    assert before["counts"]["tickets"] == 100
    assert before["counts"]["outbox_events"] > 0  # made through the services, with real events
    assert before["counts"]["macros"] == 6  # three canned replies per workspace, to try on a ticket

    second = seed(app)

    assert "acme: already seeded, nothing to add." in second.output
    assert "globex: already seeded, nothing to add." in second.output
    assert snapshot(app) == before
    check_demo_logins(app, second.output)


def check_realistic_tickets(app) -> None:
    now = utcnow()
    with app.app_context():
        for slug in ("acme", "globex"):
            tid = tenant_id(slug)
            tickets = db.session.scalars(select(Ticket).where(Ticket.tenant_id == tid)).all()
            assert len(tickets) == 50
            assert {t.number for t in tickets} == set(range(1, 51))
            assert {t.status for t in tickets} == {"new", "open", "pending", "on_hold", "solved", "closed"}
            assert len({t.priority for t in tickets}) >= 3
            assert any(t.assignee_id is None for t in tickets) and any(t.assignee_id for t in tickets)
            assert all(t.solved_at for t in tickets if t.status in ("solved", "closed"))
            assert all(t.closed_at for t in tickets if t.status == "closed")
            # backdated over the last weeks, numbers following creation time
            by_number = sorted(tickets, key=lambda t: t.number)
            assert [t.created_at for t in by_number] == sorted(t.created_at for t in tickets)
            assert by_number[0].created_at < now - timedelta(days=7)
            assert all(t.created_at <= t.updated_at <= now for t in tickets)
            comments = db.session.scalars(select(Comment).where(Comment.tenant_id == tid)).all()
            assert {c.public for c in comments} == {True, False}  # public replies and internal notes
            assert any(c.author_id is None for c in comments) and any(c.author_id for c in comments)
            created = {t.id: t for t in tickets}
            assert all(created[c.ticket_id].created_at <= c.created_at <= created[c.ticket_id].updated_at
                       for c in comments)
            assert db.session.scalar(select(func.count()).select_from(TicketTag)
                                     .where(TicketTag.tenant_id == tid)) > 50
            # every change audited, in an unbroken hash chain
            rows = db.session.scalars(select(AuditLog).where(AuditLog.tenant_id == tid).order_by(AuditLog.seq)).all()
            head = GENESIS
            for seq, row in enumerate(rows, start=1):
                assert (row.seq, row.prev_hash) == (seq, head)
                head = chain_hash(head, row)
                assert row.hash == head
            assert db.session.get(Tenant, tid).audit_head == head
            assert {"CREATE", "UPDATE"} <= {row.action for row in rows}
        db.session.remove()


def check_demo_logins(app, output: str) -> None:
    expected = {
        ("acme", "admin@acme.test", "admin"), ("acme", "lead@acme.test", "lead"),
        ("acme", "agent@acme.test", "agent"), ("globex", "admin@globex.test", "admin"),
        ("globex", "agent@globex.test", "agent"),
    }
    logins = demo_logins()
    assert expected <= {(slug, email, role) for slug, email, _, role in logins}
    assert [role for slug, _, _, role in logins if slug == "acme"].count("agent") == 2
    with app.app_context():
        for slug, email, password, role in logins:
            assert password == "demo-password"
            user = db.session.scalar(select(User).where(User.tenant_id == tenant_id(slug), User.email == email))
            assert user is not None and user.active and user.role == role
            assert password_matches(user.password_hash, "demo-password")
            line = next(line for line in output.splitlines() if f" {email} " in line)
            assert line.split() == [slug, email, "demo-password", role]
        names = dict(db.session.execute(select(Tenant.slug, Tenant.name)).all())
        zones = dict(db.session.execute(select(Tenant.slug, Tenant.timezone)).all())
        db.session.remove()
    assert names == {"acme": "Acme Inc", "globex": "Globex Corporation"}
    assert zones["globex"] == "America/New_York"


def test_bulk_seed_adds_numbered_tickets_with_comments(app, monkeypatch):
    monkeypatch.setattr(demo_workspaces, "SCENARIOS", demo_workspaces.SCENARIOS[:5])  # a smaller demo first
    seed(app)
    before = snapshot(app)

    result = seed(app, "--tickets", "2000", "--tenant", "acme")

    assert "acme: imported 2,000 tickets (#6-#2005) and 6,000 comments" in result.output
    with app.app_context():
        acme = tenant_id("acme")
        numbers = db.session.scalars(select(Ticket.number).where(Ticket.tenant_id == acme, Ticket.number > 5)).all()
        assert sorted(numbers) == list(range(6, 2006))
        new_ids = select(Ticket.id).where(Ticket.tenant_id == acme, Ticket.number > 5)
        comments = db.session.execute(
            select(Comment.tenant_id, func.count()).where(Comment.ticket_id.in_(new_ids)).group_by(Comment.tenant_id)
        ).all()
        assert comments == [(acme, 6000)]
        per_ticket = db.session.scalars(
            select(func.count()).where(Comment.ticket_id.in_(new_ids)).group_by(Comment.ticket_id)).all()
        assert len(per_ticket) == 2000 and set(per_ticket) == {3}
        assert db.session.scalar(select(func.count()).select_from(TicketTag).where(
            TicketTag.ticket_id.in_(new_ids), TicketTag.tenant_id != acme)) == 0
        assert db.session.get(Tenant, acme).ticket_seq == 2005
        imports = db.session.scalars(select(AuditLog).where(AuditLog.action == "BULK_IMPORT")).all()
        assert len(imports) == 1 and imports[0].tenant_id == acme
        assert imports[0].changes["after"]["count"] == 2000
        db.session.remove()
    after = snapshot(app)
    assert after["counts"]["outbox_events"] == before["counts"]["outbox_events"]  # no events for bulk rows
    assert after["counts"]["audit_logs"] == before["counts"]["audit_logs"] + 1
    globex_before = [t for t in before["tenants"] if t[0] == "globex"]
    assert [t for t in after["tenants"] if t[0] == "globex"] == globex_before


def test_bulk_import_continues_after_existing_tickets_across_batches(app, acme, globex):
    with app.app_context():
        for _ in range(3):
            make_ticket(acme)
        make_ticket(globex)
        tenant = db.session.get(Tenant, acme.tenant.id)
        first = import_tickets(tenant, 1234, batch_size=500, seed=1)
        second = import_tickets(tenant, 10, batch_size=4, seed=2)
        assert (first.first_number, first.last_number, first.comments) == (4, 1237, 3702)
        assert (second.first_number, second.last_number) == (1238, 1247)
        rows = db.session.execute(select(Ticket.number, Ticket.tenant_id).where(Ticket.tenant_id == acme.tenant.id))
        assert sorted(n for n, _ in rows) == list(range(1, 1248))
        assert db.session.scalar(select(func.count()).select_from(Comment)
                                 .where(Comment.tenant_id == acme.tenant.id)) == 3 * 1244
        orphans = db.session.scalar(
            select(func.count()).select_from(Comment).join(Ticket, Ticket.id == Comment.ticket_id)
            .where(Comment.tenant_id != Ticket.tenant_id))
        assert orphans == 0
        assert db.session.scalar(select(Ticket.number).where(Ticket.tenant_id == globex.tenant.id)) == 1
        tickets = db.session.scalars(select(Ticket).where(Ticket.tenant_id == acme.tenant.id, Ticket.number > 3)).all()
        assert all(t.created_at <= t.updated_at <= utcnow() for t in tickets)
        assert all((t.status == "closed") == (t.closed_at is not None) for t in tickets)
        db.session.remove()


def test_tenant_option_needs_tickets_and_an_existing_workspace(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "seed", "--tenant", "acme"])
    assert result.exit_code == 2 and "--tenant goes with --tickets" in result.output
    result = runner.invoke(args=["demo", "seed", "--tickets", "5", "--tenant", "initech"])
    assert result.exit_code == 1 and "No workspace 'initech'" in result.output
