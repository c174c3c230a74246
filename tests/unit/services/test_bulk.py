"""Bulk changes from the queue: per-ticket rules, audit rows and events, all or nothing, isolation, the cap."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.errors import InvalidTransition, TicketNotFound, ValidationFailed
from app.extensions import db
from app.models import AuditLog, OutboxEvent, Ticket, TicketActivity
from app.repositories.tickets import TicketFilter
from app.services import bulk
from app.services import tickets as ticket_service
from app.services.bulk import BulkChanges
from tests.conftest import make_ticket


def _set(ws, number, **changes):
    with ws.uow() as uow:
        ticket_service.update_ticket(uow, number, changes)
        uow.commit()


def _run(ws, changes, **kwargs):
    with ws.uow() as uow:
        result = bulk.bulk_update(uow, changes, **kwargs)
        uow.commit()
    return result


def _tickets(ws) -> dict[int, Ticket]:
    db.session.expire_all()
    rows = db.session.scalars(select(Ticket).where(Ticket.tenant_id == ws.tenant.id)
                              .options(selectinload(Ticket.tag_rows)))
    return {t.number: t for t in rows}


def _counts(ws) -> tuple[int, int, int]:
    """(audit rows, outbox events, activities) of the workspace."""
    tid = ws.tenant.id
    return (db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.tenant_id == tid)),
            db.session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.tenant_id == tid)),
            db.session.scalar(select(func.count()).select_from(TicketActivity).where(TicketActivity.tenant_id == tid)))


@pytest.fixture
def four(ctx, acme):
    for i in range(4):
        make_ticket(acme, subject=f"Ticket {i + 1}")
    return acme


def test_each_ticket_gets_its_own_audit_row_event_and_activity(four):
    ws = four
    before = _counts(ws)
    result = _run(ws, BulkChanges(status="pending"), numbers=[1, 2, 3])
    assert result.changed == [1, 2, 3] and result.unchanged == []
    assert result.message == "Status set to Pending on 3 tickets."
    tickets = _tickets(ws)
    assert [tickets[n].status for n in (1, 2, 3, 4)] == ["pending", "pending", "pending", "new"]

    audit = db.session.scalars(select(AuditLog).where(AuditLog.tenant_id == ws.tenant.id, AuditLog.seq > before[0])
                               .order_by(AuditLog.seq)).all()
    assert [(a.action, a.ticket_number) for a in audit] == [("UPDATE", 1), ("UPDATE", 2), ("UPDATE", 3)]
    assert all(a.changes == {"before": {"status": "new"}, "after": {"status": "pending"}} for a in audit)
    assert all(a.actor_id == ws.agent.id for a in audit)

    updated = db.session.scalars(select(OutboxEvent).where(OutboxEvent.tenant_id == ws.tenant.id,
                                                           OutboxEvent.event_type == "ticket.updated")).all()
    assert sorted(e.payload["ticket"]["number"] for e in updated) == [1, 2, 3]
    moved = db.session.scalars(select(OutboxEvent).where(OutboxEvent.tenant_id == ws.tenant.id,
                                                         OutboxEvent.event_type == "ticket.status_changed")).all()
    assert sorted((e.payload["ticket"]["number"], e.payload["to"]) for e in moved) == [(1, "pending"), (2, "pending"),
                                                                                      (3, "pending")]
    after = _counts(ws)
    assert after[2] - before[2] == 3  # one status activity per ticket


def test_one_refused_transition_refuses_the_whole_request(four):
    ws = four
    _set(ws, 2, status="solved")
    _set(ws, 2, status="closed")
    before = _counts(ws)
    with pytest.raises(InvalidTransition) as caught:
        _run(ws, BulkChanges(status="open", priority="high"), numbers=[1, 2, 3])
    assert "Ticket #2" in str(caught.value) and "Nothing was changed" in str(caught.value)
    tickets = _tickets(ws)
    assert [tickets[n].status for n in (1, 2, 3)] == ["new", "closed", "new"]
    assert [tickets[n].priority for n in (1, 2, 3)] == ["normal", "normal", "normal"]
    assert _counts(ws) == before  # no audit row, no event, no activity for tickets 1 and 3 either


def test_a_ticket_that_already_has_the_value_is_left_alone_even_when_closed(four):
    ws = four
    _set(ws, 3, tags="vip")
    _set(ws, 3, status="solved")
    _set(ws, 3, status="closed")
    before = _counts(ws)
    result = _run(ws, BulkChanges(add_tags="vip"), numbers=[1, 3])
    assert (result.changed, result.unchanged) == ([1], [3])
    assert result.message == "Tagged vip on 1 ticket. 1 ticket already had it."
    assert _counts(ws)[0] - before[0] == 1


def test_tags_added_and_removed_per_ticket(four):
    ws = four
    _set(ws, 1, tags="billing, old")
    _set(ws, 2, tags="old")
    result = _run(ws, BulkChanges(add_tags="vip, billing", remove_tags="old"), numbers=[1, 2, 4])
    assert result.changed == [1, 2, 4]
    tickets = _tickets(ws)
    assert tickets[1].tags == ["billing", "vip"]
    assert tickets[2].tags == ["billing", "vip"]
    assert tickets[4].tags == ["billing", "vip"]


def test_assign_and_unassign(four):
    ws = four
    result = _run(ws, BulkChanges(assign=True, assignee_id=ws.lead.id), numbers=[1, 2])
    assert result.message == f"Assigned to {ws.lead.name} on 2 tickets."
    assert {n: t.assignee_id for n, t in _tickets(ws).items()} == {1: ws.lead.id, 2: ws.lead.id, 3: None, 4: None}
    assigned = db.session.scalars(select(OutboxEvent).where(OutboxEvent.tenant_id == ws.tenant.id,
                                                            OutboxEvent.event_type == "ticket.assigned")).all()
    assert len(assigned) == 2
    result = _run(ws, BulkChanges(assign=True, assignee_id=None), numbers=[1, 2, 3])
    assert (result.changed, result.unchanged) == ([1, 2], [3])
    assert all(t.assignee_id is None for t in _tickets(ws).values())


def test_by_filter_runs_the_filter_again(four):
    ws = four
    _set(ws, 2, status="open")
    _set(ws, 4, status="open")
    result = _run(ws, BulkChanges(priority="urgent"), ticket_filter=TicketFilter(statuses=["open"]))
    assert result.changed == [2, 4]
    assert {n: t.priority for n, t in _tickets(ws).items()} == {1: "normal", 2: "urgent", 3: "normal", 4: "urgent"}


def test_a_number_of_another_workspace_is_not_found_and_nothing_changes(four, globex):
    ws = four
    for i in range(6):
        make_ticket(globex, subject=f"Globex {i}")  # globex has #5 and #6, acme does not
    before = _counts(ws), _counts(globex)
    with pytest.raises(TicketNotFound):
        _run(ws, BulkChanges(status="pending"), numbers=[1, 2, 6])
    assert (_counts(ws), _counts(globex)) == before
    assert {t.status for t in _tickets(ws).values()} == {"new"}
    assert {t.status for t in _tickets(globex).values()} == {"new"}


def test_the_assignee_must_be_a_person_of_this_workspace(four, globex):
    with pytest.raises(ValidationFailed) as caught:
        _run(four, BulkChanges(assign=True, assignee_id=globex.agent.id), numbers=[1])
    assert "assignee_id" in caught.value.errors
    assert _tickets(four)[1].assignee_id is None


def test_the_size_is_capped(four, monkeypatch):
    ws = four
    with pytest.raises(ValidationFailed) as caught:
        _run(ws, BulkChanges(status="open"), numbers=[1, 2, 3], limit=2)
    assert "at most 2" in str(caught.value)
    with pytest.raises(ValidationFailed) as caught:
        _run(ws, BulkChanges(status="open"), ticket_filter=TicketFilter(), limit=3)
    assert "4 tickets match this filter" in str(caught.value) and "at most 3" in str(caught.value)
    monkeypatch.setattr(bulk, "BULK_LIMIT", 3)
    with pytest.raises(ValidationFailed):
        _run(ws, BulkChanges(status="open"), ticket_filter=TicketFilter())
    assert {t.status for t in _tickets(ws).values()} == {"new"}
    assert bulk.BULK_LIMIT == 3 and _run(ws, BulkChanges(status="open"), numbers=[1, 2, 3]).changed == [1, 2, 3]


@pytest.mark.parametrize("fields,field", [
    ({}, "changes"),
    ({"add_tags": " , ", "remove_tags": "#"}, "changes"),  # names no tag once cleaned
    ({"status": "nonsense"}, "status"),
    ({"priority": "meh"}, "priority"),
    ({"add_tags": "no way!"}, "add_tags"),
    ({"add_tags": "vip", "remove_tags": "vip"}, "remove_tags"),
    ({"assign": True, "assignee_id": 10**9}, "assignee_id"),
])
def test_invalid_changes_are_refused_and_change_nothing(four, fields, field):
    def state():
        return {n: (t.status, t.priority, t.assignee_id, list(t.tags)) for n, t in _tickets(four).items()}

    before, counts = state(), _counts(four)
    with pytest.raises(ValidationFailed) as caught:
        _run(four, BulkChanges(**fields), numbers=[1, 2])
    assert field in caught.value.errors
    assert state() == before and _counts(four) == counts  # no field, audit row, event or activity


def test_a_ticket_refusing_a_field_is_named(four):
    ws = four
    _set(ws, 2, tags=[f"t{i}" for i in range(20)])
    with pytest.raises(ValidationFailed) as caught:
        _run(ws, BulkChanges(add_tags="vip"), numbers=[1, 2])
    assert "Ticket #2" in str(caught.value)
    assert _tickets(ws)[1].tags == []


def test_an_empty_selection_is_refused(four):
    with pytest.raises(ValidationFailed) as caught:
        _run(four, BulkChanges(status="open"), numbers=[])
    assert "Select at least one ticket." in str(caught.value)


def test_by_filter_counts_exactly_when_a_ticket_arrived_after_the_request_began(four, app):
    """The queue's totals are remembered under the audit position the request began with; the bulk
    guard must not be: a fifth ticket arrives (another connection) after this request read its tenant
    and the remembered total, before its unit of work starts writing; a limit of 4 must refuse."""
    import threading

    from app.models import Tenant

    ws = four
    uow = ws.uow()
    signed_in_tenant = uow.session.get(Tenant, ws.tenant.id)  # held by the request, as current_user's is
    assert uow.tickets.count(TicketFilter()) == 4  # the page's read: remembered under this position

    def another_request():
        with app.app_context():
            make_ticket(ws, subject="Arrived meanwhile")

    thread = threading.Thread(target=another_request)
    thread.start()
    thread.join()
    with uow:
        with pytest.raises(ValidationFailed) as refused:
            bulk._resolve(uow, None, TicketFilter(), 4)
    assert "5 tickets match this filter" in str(refused.value.errors)
    assert signed_in_tenant.id == ws.tenant.id
