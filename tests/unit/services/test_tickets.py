"""Ticket rules: status transitions, numbering, validation, the change feed."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.errors import InvalidTransition, ValidationFailed
from app.extensions import db
from app.models import AuditLog, Comment, OutboxEvent, Tenant, Ticket, TicketActivity
from app.repositories.unit_of_work import Actor, UnitOfWork
from app.services import comments as comment_service
from app.services import people as people_service
from app.services import tickets as ticket_service
from tests.conftest import make_ticket

VALID = dict(subject="Printer on fire", description="Smoke everywhere.", requester_name="Pat Customer",
             requester_email="pat@example.com")


def _set_status(ws, number: int, *path: str) -> None:
    for status in path:
        with ws.uow() as uow:
            ticket_service.update_ticket(uow, number, {"status": status})
            uow.commit()


def _status(ws, number: int) -> str:
    db.session.expire_all()
    return db.session.scalar(select(Ticket.status).where(Ticket.tenant_id == ws.tenant.id, Ticket.number == number))


def _comment(ws, number: int, *, public: bool, actor: Actor | None = None, body: str = "A reply") -> None:
    uow = UnitOfWork(ws.tenant, actor) if actor is not None else ws.uow()
    with uow:
        comment_service.add_comment(uow, number, body=body, public=public)
        uow.commit()


def _rows(model, **where) -> int:
    stmt = select(func.count()).select_from(model)
    for name, value in where.items():
        stmt = stmt.where(getattr(model, name) == value)
    return db.session.scalar(stmt)


# -- status rules ---------------------------------------------------------------------
class TestStatusRules:
    def test_a_ticket_starts_new(self, acme, ctx):
        assert make_ticket(acme).status == "new"

    @pytest.mark.parametrize("start", ["open", "pending", "on_hold", "solved"])
    def test_no_ticket_goes_back_to_new(self, acme, ctx, start):
        number = make_ticket(acme).number
        _set_status(acme, number, start)
        with pytest.raises(InvalidTransition), acme.uow() as uow:
            ticket_service.update_ticket(uow, number, {"status": "new"})
        assert _status(acme, number) == start

    def test_new_to_new_is_no_change(self, acme, ctx):
        number = make_ticket(acme).number
        with acme.uow() as uow:
            ticket_service.update_ticket(uow, number, {"status": "new"})
            uow.commit()
        assert _status(acme, number) == "new"
        assert _rows(TicketActivity) == 1  # only "created"

    @pytest.mark.parametrize("start", ["new", "open", "pending", "on_hold"])
    def test_only_a_solved_ticket_can_be_closed(self, acme, ctx, start):
        number = make_ticket(acme).number
        if start != "new":
            _set_status(acme, number, start)
        with pytest.raises(InvalidTransition), acme.uow() as uow:
            ticket_service.update_ticket(uow, number, {"status": "closed"})
        assert _status(acme, number) == start

    def test_solved_then_closed(self, acme, ctx):
        number = make_ticket(acme).number
        _set_status(acme, number, "open", "solved", "closed")
        ticket = db.session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket.status == "closed"
        assert ticket.closed_at is not None and ticket.solved_at is not None

    @pytest.mark.parametrize("change", [{"status": "open"}, {"status": "solved"}, {"priority": "urgent"},
                                        {"subject": "Renamed"}, {"tags": "late"}])
    def test_closed_is_final(self, acme, ctx, change):
        number = make_ticket(acme).number
        _set_status(acme, number, "solved", "closed")
        with pytest.raises(InvalidTransition), acme.uow() as uow:
            ticket_service.update_ticket(uow, number, change)
        db.session.expire_all()
        ticket = db.session.scalar(select(Ticket).where(Ticket.number == number))
        assert (ticket.status, ticket.priority, ticket.subject) == ("closed", "normal", "Printer on fire")

    def test_a_closed_ticket_takes_no_comments(self, acme, ctx):
        number = make_ticket(acme).number
        _set_status(acme, number, "solved", "closed")
        for public in (True, False):
            with pytest.raises(InvalidTransition):
                _comment(acme, number, public=public)
        assert _rows(Comment) == 0

    @pytest.mark.parametrize("a,b", [("open", "pending"), ("pending", "on_hold"), ("on_hold", "solved"),
                                     ("solved", "open"), ("solved", "pending"), ("on_hold", "open")])
    def test_free_moves_between_working_statuses(self, acme, ctx, a, b):
        number = make_ticket(acme).number
        _set_status(acme, number, a, b)
        assert _status(acme, number) == b

    def test_allowed_transitions_table(self):
        assert ticket_service.allowed_transitions("closed") == ()
        assert "closed" in ticket_service.allowed_transitions("solved")
        for status in ("new", "open", "pending", "on_hold"):
            assert "closed" not in ticket_service.allowed_transitions(status)
        for status in ("new", "open", "pending", "on_hold", "solved"):
            assert "new" not in ticket_service.allowed_transitions(status)
            assert status not in ticket_service.allowed_transitions(status)

    def test_public_agent_reply_opens_a_new_ticket(self, acme, ctx):
        number = make_ticket(acme).number
        _comment(acme, number, public=True)
        assert _status(acme, number) == "open"
        activity = db.session.scalars(select(TicketActivity).where(TicketActivity.field == "status")).one()
        assert (activity.old_value, activity.new_value) == ("new", "open")
        events = [e.event_type for e in db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))]
        assert events[-2:] == ["comment.created", "ticket.status_changed"]

    def test_public_reply_without_an_agent_leaves_a_new_ticket_new(self, acme, ctx):
        number = make_ticket(acme).number
        _comment(acme, number, public=True, actor=Actor.system("mail-in"))
        assert _status(acme, number) == "new"

    @pytest.mark.parametrize("actor", [None, Actor.system("mail-in")], ids=["agent", "requester"])
    def test_public_reply_reopens_solved(self, acme, ctx, actor):
        number = make_ticket(acme).number
        _set_status(acme, number, "solved")
        _comment(acme, number, public=True, actor=actor)
        ticket = db.session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket.status == "open"
        assert ticket.solved_at is None

    @pytest.mark.parametrize("start", ["new", "open", "pending", "on_hold", "solved"])
    def test_internal_note_never_changes_status(self, acme, ctx, start):
        number = make_ticket(acme).number
        if start != "new":
            _set_status(acme, number, start)
        activities = _rows(TicketActivity)
        _comment(acme, number, public=False)
        assert _status(acme, number) == start
        assert _rows(TicketActivity) == activities
        assert "ticket.status_changed" not in [
            e.event_type for e in db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc()).limit(1))]

    @pytest.mark.parametrize("start", ["pending", "on_hold", "open"])
    def test_public_reply_leaves_working_statuses_alone(self, acme, ctx, start):
        number = make_ticket(acme).number
        _set_status(acme, number, start)
        _comment(acme, number, public=True)
        assert _status(acme, number) == start


# -- numbering -------------------------------------------------------------------------
class TestNumbering:
    def test_sequential_per_tenant_and_independent(self, acme, globex, ctx):
        a = [make_ticket(acme).number for _ in range(3)]
        g = [make_ticket(globex).number for _ in range(2)]
        a.append(make_ticket(acme).number)
        assert a == [1, 2, 3, 4]
        assert g == [1, 2]

    def test_failed_creation_does_not_burn_a_number(self, acme, ctx):
        make_ticket(acme)
        with pytest.raises(ValidationFailed):
            make_ticket(acme, subject="")
        assert make_ticket(acme).number == 2

    def test_unique_and_consecutive_under_concurrent_creation(self, app, acme, globex):
        threads, per_thread = 6, 5
        numbers: dict[str, list[int]] = {"acme": [], "globex": []}
        errors: list[BaseException] = []
        lock = threading.Lock()
        start = threading.Barrier(threads)

        def work(ws):
            try:
                with app.app_context():
                    start.wait(timeout=10)
                    for _ in range(per_thread):
                        number = make_ticket(ws).number
                        with lock:
                            numbers[ws.tenant.slug].append(number)
                    db.session.remove()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        workers = [threading.Thread(target=work, args=(acme if i % 2 else globex,)) for i in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join(timeout=60)
        assert not errors, errors
        expected = list(range(1, threads // 2 * per_thread + 1))
        assert sorted(numbers["acme"]) == expected
        assert sorted(numbers["globex"]) == expected
        with app.app_context():
            for ws in (acme, globex):
                stored = sorted(db.session.scalars(select(Ticket.number).where(Ticket.tenant_id == ws.tenant.id)))
                assert stored == expected
                assert db.session.get(Tenant, ws.tenant.id).ticket_seq == len(expected)


# -- validation --------------------------------------------------------------------------
class TestValidation:
    def _errors(self, ws, **overrides) -> dict:
        with pytest.raises(ValidationFailed) as info, ws.uow() as uow:
            ticket_service.create_ticket(uow, **{**VALID, **overrides})
        return info.value.errors

    @pytest.mark.parametrize("field,value", [
        ("subject", ""), ("subject", "   "), ("subject", "x" * 201),
        ("description", ""), ("requester_name", ""),
        ("requester_email", ""), ("requester_email", "not-an-email"), ("requester_email", "a@b@c"),
        ("tags", "ok, no spaces!"), ("tags", ["good", "bad tag?"]), ("tags", ["x" * 51]),
        ("tags", [f"t{i}" for i in range(21)]),
        ("priority", "critical"), ("priority", "URGENT"),
    ])
    def test_one_field_error(self, acme, ctx, field, value):
        errors = self._errors(acme, **{field: value})
        assert list(errors) == [field]
        assert errors[field] and all(isinstance(m, str) and m for m in errors[field])
        assert _rows(Ticket) == 0

    def test_several_errors_at_once(self, acme, ctx):
        errors = self._errors(acme, subject="", requester_email="nope", priority="meh", tags="#ok, b@d")
        assert set(errors) == {"subject", "requester_email", "priority", "tags"}

    def test_assignee_from_another_tenant_is_rejected(self, acme, globex, ctx):
        errors = self._errors(acme, assignee_id=globex.agent.id)
        assert list(errors) == ["assignee_id"]
        make_ticket(acme)
        with pytest.raises(ValidationFailed) as info, acme.uow() as uow:
            ticket_service.update_ticket(uow, 1, {"assignee_id": globex.agent.id})
        assert list(info.value.errors) == ["assignee_id"]
        assert db.session.scalar(select(Ticket.assignee_id).where(Ticket.number == 1)) is None

    def test_inactive_assignee_is_rejected(self, acme, ctx):
        with acme.uow(acme.admin) as uow:
            people_service.set_active(uow, acme.lead.id, False)
            uow.commit()
        assert list(self._errors(acme, assignee_id=acme.lead.id)) == ["assignee_id"]

    def test_values_are_normalised(self, acme, ctx):
        ticket = make_ticket(acme, subject="  Trim me  ", tags="#Billing, vip billing", requester_email="Pat@Example.com",
                             assignee_id=acme.agent.id)
        assert ticket.subject == "Trim me"
        assert ticket.tags == ["billing", "vip"]
        assert ticket.requester_email.lower() == "pat@example.com"
        assert ticket.assignee_id == acme.agent.id

    @pytest.mark.parametrize("changes,field", [({"status": "bogus"}, "status"), ({"priority": "meh"}, "priority"),
                                               ({"subject": ""}, "subject"), ({"tags": "a b!"}, "tags"),
                                               ({"number": 7}, "number")])
    def test_update_errors(self, acme, ctx, changes, field):
        make_ticket(acme)
        with pytest.raises(ValidationFailed) as info, acme.uow() as uow:
            ticket_service.update_ticket(uow, 1, changes)
        assert field in info.value.errors


# -- update_ticket's change feed -----------------------------------------------------------
class TestUpdateActivity:
    def test_one_activity_per_changed_field(self, acme, ctx):
        make_ticket(acme, tags="a", assignee_id=acme.agent.id)
        before = _rows(TicketActivity)
        with acme.uow() as uow:
            ticket_service.update_ticket(uow, 1, {"status": "pending", "priority": "high", "tags": "a, b",
                                                  "assignee_id": acme.agent.id, "subject": "Printer on fire"})
            uow.commit()
        rows = list(db.session.scalars(select(TicketActivity).order_by(TicketActivity.id).offset(before)))
        assert sorted(r.field for r in rows) == ["priority", "status", "tags"]
        by_field = {r.field: (r.old_value, r.new_value) for r in rows}
        assert by_field == {"status": ("new", "pending"), "priority": ("normal", "high"), "tags": ("a", "a, b")}
        assert all(r.actor_id == acme.agent.id for r in rows)
        audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "UPDATE")).one()
        assert set(audit.changes["after"]) == {"status", "priority", "tags"}

    def test_assignment_is_recorded_with_names(self, acme, ctx):
        make_ticket(acme)
        with acme.uow() as uow:
            ticket_service.update_ticket(uow, 1, {"assignee_id": acme.lead.id})
            uow.commit()
        row = db.session.scalars(select(TicketActivity).where(TicketActivity.field == "assignee_id")).one()
        assert (row.old_value, row.new_value) == (None, acme.lead.name)
        events = [e.event_type for e in db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id))]
        assert events[-2:] == ["ticket.updated", "ticket.assigned"]

    def test_nothing_changed_records_nothing(self, acme, ctx):
        ticket = make_ticket(acme, tags="a, b", priority="high")
        counts = (_rows(TicketActivity), _rows(AuditLog), _rows(OutboxEvent))
        with acme.uow() as uow:
            ticket_service.update_ticket(uow, 1, {"status": "new", "priority": "high", "tags": "a, B, #a",
                                                  "assignee_id": None, "subject": " Printer on fire "})
            uow.commit()
        assert (_rows(TicketActivity), _rows(AuditLog), _rows(OutboxEvent)) == counts
        db.session.expire_all()
        stored = db.session.scalar(select(Ticket).where(Ticket.number == 1))
        assert stored.updated_at == ticket.updated_at

    def test_empty_change_set_records_nothing(self, acme, ctx):
        make_ticket(acme)
        counts = (_rows(TicketActivity), _rows(AuditLog), _rows(OutboxEvent))
        with acme.uow() as uow:
            ticket_service.update_ticket(uow, 1, {})
            uow.commit()
        assert (_rows(TicketActivity), _rows(AuditLog), _rows(OutboxEvent)) == counts

    def test_same_tags_in_another_order_record_nothing(self, acme, ctx):
        make_ticket(acme, tags="a, b")
        counts = (_rows(TicketActivity), _rows(AuditLog), _rows(OutboxEvent))
        with acme.uow() as uow:
            ticket_service.update_ticket(uow, 1, {"tags": "b, a"})
            uow.commit()
        assert (_rows(TicketActivity), _rows(AuditLog), _rows(OutboxEvent)) == counts
