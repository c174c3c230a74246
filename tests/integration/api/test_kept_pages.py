"""List pages are remembered per process until the tenant's next audited change (repositories/ticket_counts.py):
read once, never stale, never another tenant's. Every kind of change to what a list shows moves the key,
the system's own changes included (the SLA sweep, a deadline recompute)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, Tenant
from app.repositories import ticket_counts
from app.repositories.tickets import TicketFilter, TicketRepository, TicketRow
from app.services import bulk as bulk_service
from app.services import comments as comment_service
from app.services import tickets as ticket_service
from app.services.sla import clocks
from app.services.sla.sweep import sweep_breaches
from tests.conftest import make_ticket


@pytest.fixture(autouse=True)
def fresh_store():
    ticket_counts.forget_all()
    yield
    ticket_counts.forget_all()


@pytest.fixture
def listed(sql_counter):
    """listed(api, **query) → (the API list's tickets, whether a SELECT read the tickets table for them)."""

    def ask(api, **query) -> tuple[list[dict], bool]:
        with sql_counter() as statements:
            response = api.get("/api/v1/tickets", query_string=query)
        assert response.status_code == 200, response.json
        return response.json["data"], any(_reads_tickets(s) for s in statements)

    return ask


def _reads_tickets(statement: str) -> bool:
    return statement.lstrip().upper().startswith("SELECT") and "FROM TICKETS" in statement.upper()


def subjects(items: list[dict]) -> list[str]:
    return [item["subject"] for item in items]


def test_a_page_is_read_once_then_remembered(app, acme, acme_api, listed):
    with app.app_context():
        for i in range(3):
            make_ticket(acme, subject=f"Ticket {i}")
    first, read = listed(acme_api)
    assert read and subjects(first) == ["Ticket 2", "Ticket 1", "Ticket 0"]
    again, read = listed(acme_api)
    assert not read and again == first
    other, read = listed(acme_api, limit=2)  # another page size: another page
    assert read and subjects(other) == ["Ticket 2", "Ticket 1"]
    _, read = listed(acme_api, status="open")  # another filter
    assert read


def test_every_change_shows_at_once(app, acme, acme_api, listed):
    with app.app_context():
        numbers = [make_ticket(acme, subject=f"Ticket {i}").number for i in range(3)]
    listed(acme_api)
    with app.app_context():  # a field
        with acme.uow(acme.agent) as uow:
            ticket_service.update_ticket(uow, numbers[0], {"status": "open", "subject": "Now open"})
            uow.commit()
    items, read = listed(acme_api)
    assert read and items[0]["subject"] == "Now open" and items[0]["status"] == "open"  # updated first
    with app.app_context():  # a comment moves the ticket up
        with acme.uow(acme.agent) as uow:
            comment_service.add_comment(uow, numbers[1], body="On it", public=False)
            uow.commit()
    assert subjects(listed(acme_api)[0])[0] == "Ticket 1"
    with app.app_context():  # a bulk change and a tag
        with acme.uow(acme.agent) as uow:
            bulk_service.bulk_update(uow, bulk_service.BulkChanges(status="pending"), numbers=numbers[1:])
            ticket_service.update_ticket(uow, numbers[0], {"tags": ["vip"]})
            uow.commit()
    items, _ = listed(acme_api)
    assert {item["number"]: item["status"] for item in items} == {numbers[0]: "open", numbers[1]: "pending",
                                                                   numbers[2]: "pending"}
    assert subjects(listed(acme_api, tag="vip")[0]) == ["Now open"]
    with app.app_context():  # a new ticket
        make_ticket(acme, subject="Newest")
    assert subjects(listed(acme_api)[0])[0] == "Newest"


def stored_states(app, ws) -> dict[int, str]:
    """The list page's rows as the queue reads them, in a request's own session: {number: stored sla_state}."""
    with app.app_context():
        rows = TicketRepository(db.session, ws.tenant.id).list(TicketFilter(), 1, 25).items
        db.session.remove()
    return {row.number: row.sla_state for row in rows}


def test_the_sweep_marks_show_in_remembered_pages(app, acme):
    """The sweep changes SLA columns with no user behind it: its audit row moves the key. (The API's slaState
    is brought up to date from the clock anyway; the stored state the queue's rows carry is not.)"""
    friday = datetime(2025, 6, 6, 14, 30, tzinfo=timezone.utc)  # 16:30 in Paris, acme's zone
    with app.app_context(), time_machine.travel(friday, tick=False):
        number = make_ticket(acme, priority="urgent").number
    assert stored_states(app, acme) == {number: "ok"}
    assert ticket_counts.PAGES.answers  # remembered
    with app.app_context():
        seq = db.session.get(Tenant, acme.tenant.id).audit_seq
        with time_machine.travel(datetime(2025, 6, 9, 8, 0, tzinfo=timezone.utc), tick=False):  # 10:00 Paris
            assert sweep_breaches() == {"reply_breach": 1}
        db.session.expire_all()
        assert db.session.get(Tenant, acme.tenant.id).audit_seq == seq + 1
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "SLA_SWEEP"))
        assert row.actor_type == "system" and row.changes["after"] == {"reply_breach": 1, "tickets": [number]}
    assert stored_states(app, acme) == {number: "breached"}


def test_a_deadline_recompute_moves_the_key(app, acme):
    with app.app_context():
        numbers = sorted(make_ticket(acme).number for _ in range(3))
        seq = db.session.get(Tenant, acme.tenant.id).audit_seq
        done = clocks.recompute_open_tickets(lambda: acme.uow(), batch=2)
        assert done == 3
        db.session.expire_all()
        assert db.session.get(Tenant, acme.tenant.id).audit_seq == seq + 2  # one row a batch
        rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "SLA_RECOMPUTE")
                                  .order_by(AuditLog.seq)).all()
        assert [r.changes["after"] for r in rows] == [
            {"tickets": 2, "first_number": numbers[0], "last_number": numbers[1]},
            {"tickets": 1, "first_number": numbers[2], "last_number": numbers[2]}]


def test_tenants_never_share_a_page(app, acme, globex, acme_api, globex_api, listed):
    with app.app_context():
        make_ticket(acme, subject="Acme only")
        make_ticket(globex, subject="Globex only")
    assert subjects(listed(acme_api)[0]) == ["Acme only"]
    globex_items, read = listed(globex_api)  # the same question, another tenant: its own page
    assert read and subjects(globex_items) == ["Globex only"]
    with app.app_context():
        make_ticket(globex, subject="Globex again")
    items, read = listed(acme_api)  # globex's change leaves acme's page remembered
    assert not read and subjects(items) == ["Acme only"]


def test_sla_views_are_read_every_time(app, acme):
    """"Due soon" and "breached" compare with the request's time: never remembered."""
    with app.app_context():
        make_ticket(acme, priority="urgent")
        repo = TicketRepository(db.session, acme.tenant.id)
        for sla in ("due_soon", "breached"):
            repo.list(TicketFilter(sla=sla), 1, 25)
        assert not ticket_counts.PAGES.answers
        repo.list(TicketFilter(), 1, 25)
        assert len(ticket_counts.PAGES.answers) == 1


def test_the_store_is_bounded_and_can_be_turned_off(app, acme, acme_api, monkeypatch, sql_counter, listed):
    monkeypatch.setattr(ticket_counts.PAGES, "max_entries", 3)
    with app.app_context():
        for i in range(5):
            make_ticket(acme, subject=f"Ticket {i}")
    for limit in range(1, 6):
        listed(acme_api, limit=limit)
    assert len(ticket_counts.PAGES.answers) == 3
    assert not listed(acme_api, limit=5)[1]  # the newest are kept
    assert listed(acme_api, limit=1)[1]  # the oldest went first
    monkeypatch.setattr(ticket_counts, "_enabled", False)  # TICKET_COUNT_CACHE=false: neither
    assert listed(acme_api, limit=5)[1] and listed(acme_api, limit=5)[1]
    monkeypatch.setattr(ticket_counts, "_enabled", True)
    monkeypatch.setattr(ticket_counts, "_pages_enabled", False)  # TICKET_PAGE_CACHE=false: pages read, totals not
    ticket_counts.forget_all()
    listed(acme_api, limit=4)
    with sql_counter() as statements:
        assert acme_api.get("/api/v1/tickets", query_string={"limit": 4}).status_code == 200
    assert any(_reads_tickets(s) and "count(" not in s.lower() for s in statements)  # the page, read
    assert not any("count(" in s.lower() for s in statements)  # its total, remembered


def test_pages_are_bounded_by_their_text(app, acme, acme_api, monkeypatch, listed):
    """API pages carry whole descriptions (up to 50,000 characters each): a page too big is not kept, and
    the kept ones hold at most max_total characters of text, oldest out first."""
    with app.app_context():
        for i in range(4):
            make_ticket(acme, subject=f"Long {i}", description="x" * 5_000)
    _, read = listed(acme_api, limit=1)
    one = ticket_counts.PAGES.total
    assert read and 5_000 < one < 6_000 and len(ticket_counts.PAGES.answers) == 1
    monkeypatch.setattr(ticket_counts.PAGES, "max_one", 3 * one)
    assert listed(acme_api, limit=4)[1] and listed(acme_api, limit=4)[1]  # too big: read each time
    assert len(ticket_counts.PAGES.answers) == 1
    monkeypatch.setattr(ticket_counts.PAGES, "max_total", 5 * one)
    listed(acme_api, limit=2)  # 1 + 2 pages' worth
    listed(acme_api, limit=3)  # 1 + 2 + 3 > 5: the oldest (limit=1) goes
    assert ticket_counts.PAGES.total <= 5 * one
    assert sorted(len(rows) for rows in ticket_counts.PAGES.answers.values()) == [2, 3]
    assert listed(acme_api, limit=1)[1]  # read again
    ticket_counts.forget_pages()
    assert ticket_counts.PAGES.total == 0 and not ticket_counts.PAGES.weights


def test_rows_are_read_only():
    row = TicketRow([("id", 1), ("subject", "Printer"), ("tag_list", "b a")])
    assert row.subject == "Printer" and row.tags == ("a", "b")
    with pytest.raises(AttributeError):
        row.subject = "Changed"
    with pytest.raises(AttributeError):
        del row.subject
    assert row.subject == "Printer"


def test_a_sweep_that_marks_nothing_writes_no_audit_row(app, acme):
    with app.app_context():
        make_ticket(acme)
        assert sweep_breaches() == {}
        assert db.session.scalar(select(func.count()).select_from(AuditLog)
                                 .where(AuditLog.action == "SLA_SWEEP")) == 0
