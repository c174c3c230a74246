"""Bulk changes from the queue page: plain form posts, htmx, "all matching", errors, isolation, roles."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, OutboxEvent, Ticket
from app.services import bulk
from app.services import tickets as ticket_service
from tests.conftest import make_ticket
from tests.integration.web.conftest import queue_rows

HTMX = {"HX-Request": "true", "HX-Target": "ticket-results"}


def _set(ws, number, **changes):
    with ws.uow() as uow:
        ticket_service.update_ticket(uow, number, changes)
        uow.commit()


@pytest.fixture
def five(app, acme):
    with app.app_context():
        for i in range(5):
            make_ticket(acme, subject=f"Ticket {i + 1}", priority="high" if i % 2 else "low")
    return acme


def _statuses(db_read, ws) -> dict[int, str]:
    return db_read(lambda: dict(db.session.execute(
        select(Ticket.number, Ticket.status).where(Ticket.tenant_id == ws.tenant.id)).all()))


def _audit_count(db_read, ws) -> int:
    return db_read(lambda: db.session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.tenant_id == ws.tenant.id)))


def test_queue_rows_carry_a_labelled_checkbox_and_the_bulk_form_keeps_the_filter(agent_client, five):
    html = agent_client.get("/tickets?priority=high").get_data(as_text=True)
    assert 'action="/tickets/bulk?priority=high"' in html
    assert '<input type="checkbox" name="number" value="4" id="select-4"' in html
    assert 'aria-label="Select ticket #4: Ticket 4"' in html
    assert 'aria-label="Select all tickets on this page"' in html
    assert "All 2 matching this filter" in html
    for label in ("Set status", "Set priority", "Assign to", "Add tags", "Remove tags"):
        assert f">{label}</label>" in html


def test_plain_post_changes_the_selected_tickets_and_redirects_to_the_same_queue(agent_client, five, db_read):
    response = agent_client.post("/tickets/bulk?priority=high&sort=priority&page=1",
                                 data={"number": ["2", "4"], "scope": "selected", "set_status": "pending"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/tickets?priority=high&sort=priority&page=1"
    assert _statuses(db_read, five) == {1: "new", 2: "pending", 3: "new", 4: "pending", 5: "new"}
    page = agent_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Status set to Pending on 2 tickets." in page


def test_htmx_post_answers_the_results_with_an_announced_outcome(agent_client, five, db_read):
    response = agent_client.post("/tickets/bulk?priority=low", headers=HTMX,
                                 data={"number": ["1", "3"], "set_priority": "urgent", "add_tags": "vip"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="ticket-results"')
    assert 'role="status"' in html and "Priority set to Urgent and tagged vip on 2 tickets." in html
    assert response.headers["HX-Trigger"] == "ticketry:queue-changed"
    assert [n for n, _ in queue_rows(html)] == [5]  # the filter (low) runs again: 1 and 3 left it
    priorities = db_read(lambda: dict(db.session.execute(select(Ticket.number, Ticket.priority)).all()))
    assert priorities == {1: "urgent", 2: "high", 3: "urgent", 4: "high", 5: "low"}


def test_all_matching_runs_the_filter_on_the_server(agent_client, five, db_read):
    # Only ticket 1 is sent, but "all" ignores numbers: the server runs priority=high itself.
    response = agent_client.post("/tickets/bulk?priority=high",
                                 data={"scope": "all", "number": ["1"], "set_assignee": "me"})
    assert response.status_code == 302
    assigned = db_read(lambda: dict(db.session.execute(select(Ticket.number, Ticket.assignee_id)).all()))
    assert assigned == {1: None, 2: five.agent.id, 3: None, 4: five.agent.id, 5: None}


def test_invalid_transition_refuses_everything_and_names_the_ticket(agent_client, five, db_read, app):
    with app.app_context():
        _set(five, 3, status="solved")
        _set(five, 3, status="closed")
    before = _audit_count(db_read, five)
    response = agent_client.post("/tickets/bulk", headers=HTMX,
                                 data={"number": ["1", "3", "5"], "set_status": "open"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html and "Ticket #3: A closed ticket is final" in html
    checked = re.findall(r'<input type="checkbox" name="number" value="(\d+)"[^>]*?\schecked', html)
    assert sorted(checked) == ["1", "3", "5"]  # the selection is kept to try again
    assert _statuses(db_read, five) == {1: "new", 2: "new", 3: "closed", 4: "new", 5: "new"}
    assert _audit_count(db_read, five) == before

    plain = agent_client.post("/tickets/bulk?status=new", data={"number": ["1", "3"], "set_status": "open"})
    assert plain.status_code == 302 and plain.headers["Location"] == "/tickets?status=new"
    assert "Ticket #3: A closed ticket is final" in agent_client.get("/tickets?status=new").get_data(as_text=True)


def test_a_crafted_number_of_another_workspace_is_404_and_nothing_changes(agent_client, five, globex, app, db_read):
    with app.app_context():
        for i in range(7):
            make_ticket(globex, subject=f"Globex {i}")
    before = _audit_count(db_read, five), _audit_count(db_read, globex)
    for numbers in (["1", "7"], ["1", "abc"], ["1", "99999999999"]):
        response = agent_client.post("/tickets/bulk", data={"number": numbers, "set_status": "pending"})
        assert response.status_code == 404, numbers
        assert "Globex" not in response.get_data(as_text=True)
    assert _statuses(db_read, five) == {n: "new" for n in range(1, 6)}
    assert _statuses(db_read, globex) == {n: "new" for n in range(1, 8)}
    assert (_audit_count(db_read, five), _audit_count(db_read, globex)) == before


def test_above_the_cap_is_refused_with_a_clear_message(agent_client, five, db_read, monkeypatch):
    monkeypatch.setattr(bulk, "BULK_LIMIT", 4)
    response = agent_client.post("/tickets/bulk", headers=HTMX, data={"scope": "all", "set_status": "pending"})
    assert response.status_code == 422
    assert "5 tickets match this filter; a bulk change takes at most 4" in response.get_data(as_text=True)
    response = agent_client.post("/tickets/bulk", headers=HTMX,
                                 data={"number": ["1", "2", "3", "4", "5"], "set_status": "pending"})
    assert response.status_code == 422 and "at most 4" in response.get_data(as_text=True)
    assert set(_statuses(db_read, five).values()) == {"new"}


def test_nothing_selected_or_no_change_chosen(agent_client, five):
    response = agent_client.post("/tickets/bulk", headers=HTMX, data={"set_status": "pending"})
    assert response.status_code == 422 and "Select at least one ticket." in response.get_data(as_text=True)
    response = agent_client.post("/tickets/bulk", headers=HTMX, data={"number": ["1"]})
    assert response.status_code == 422 and "Choose a change to apply" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["agent", "lead", "admin"])
def test_every_role_may_bulk_edit_and_each_ticket_gets_its_own_event(client_for, five, role, db_read):
    client = client_for(getattr(five, role))
    assert client.post("/tickets/bulk", data={"number": ["1", "2"], "set_status": "open"}).status_code == 302
    events = db_read(lambda: db.session.scalars(
        select(OutboxEvent).where(OutboxEvent.event_type == "ticket.updated")).all())
    assert sorted(e.payload["ticket"]["number"] for e in events) == [1, 2]


def test_signed_out_cannot_bulk_edit(app, five, db_read):
    response = app.test_client().post("/tickets/bulk", data={"number": ["1"], "set_status": "open"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert _statuses(db_read, five)[1] == "new"


def test_a_filter_the_queue_refuses_is_refused_before_anything_changes(agent_client, five, db_read):
    for query in ("?status=bogus", "?sla=later", "?sort=random", "?priority=meh"):
        response = agent_client.post("/tickets/bulk" + query, data={"number": ["1"], "set_status": "open"})
        assert response.status_code == 422, query
    assert _statuses(db_read, five)[1] == "new"
