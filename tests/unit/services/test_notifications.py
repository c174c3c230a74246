"""Notification rules: preferences (defaults, validation, audit), notify_many honouring them, reading, following."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.errors import NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models import AuditLog, Notification
from app.repositories.unit_of_work import Actor, UnitOfWork
from app.services import notifications
from tests.conftest import make_ticket


def rows(*where):
    db.session.expire_all()
    return list(db.session.scalars(select(Notification).where(*where).order_by(Notification.id)))


def test_every_event_notifies_on_both_channels_by_default(ctx, acme):
    prefs = notifications.preferences(acme.uow())
    assert [(p.event_type, p.in_app, p.email) for p in prefs] == [
        ("ticket.assigned", True, True), ("comment.created", True, True),
        ("ticket.sla_warning", True, True), ("ticket.sla_breached", True, True)]
    assert prefs[0].label == "Assigned to you" and prefs[0].description


@pytest.mark.parametrize(("changes", "field"), [
    ({"ticket.created": {"email": False}}, "ticket.created"),
    ({"ticket.assigned": {"sms": False}}, "ticket.assigned.sms"),
    ({"ticket.assigned": {"email": "no"}}, "ticket.assigned.email"),
    ({"ticket.assigned": False}, "ticket.assigned"),
])
def test_preferences_refuse_unknown_events_channels_and_values(ctx, acme, changes, field):
    with acme.uow() as uow, pytest.raises(ValidationFailed) as caught:
        notifications.update_preferences(uow, changes)
    assert list(caught.value.errors) == [field]


def test_changing_preferences_writes_one_audit_row_with_the_changes_only(ctx, acme):
    with acme.uow() as uow:
        prefs = notifications.update_preferences(uow, {"comment.created": {"email": False, "in_app": True}})
        uow.commit()
    assert [(p.in_app, p.email) for p in prefs if p.event_type == "comment.created"] == [(True, False)]
    with acme.uow() as uow:  # the same values again: nothing changes, no audit row
        notifications.update_preferences(uow, {"comment.created": {"email": False}})
        uow.commit()
    audit = db.session.scalars(select(AuditLog).where(AuditLog.entity_type == "NotificationPreference")).all()
    assert len(audit) == 1
    assert audit[0].changes == {"before": {"comment.created.email": True}, "after": {"comment.created.email": False}}
    assert audit[0].actor_label == "agent@acme.test"


def test_notify_many_skips_people_who_turned_the_event_off_in_the_app(ctx, acme):
    with acme.uow(acme.lead) as uow:
        notifications.update_preferences(uow, {"ticket.sla_warning": {"in_app": False}})
        uow.commit()
    ticket = make_ticket(acme)
    ref = SimpleNamespace(id=ticket.id, number=ticket.number)
    with UnitOfWork(acme.tenant, Actor.system("test")) as uow:
        written = notifications.notify_many(uow, [
            notifications.Notice([acme.agent.id, acme.lead.id, acme.agent.id, None], "ticket.sla_warning", ref, "w"),
            notifications.Notice([acme.lead.id], "ticket.sla_breached", ref, "b"),
            notifications.Notice([acme.lead.id], "webhook.disabled", SimpleNamespace(id=None, number=None), "x"),
        ])
        uow.commit()
    assert written == 3
    assert [(n.user_id, n.event_type) for n in rows()] == [(acme.agent.id, "ticket.sla_warning"),
                                                          (acme.lead.id, "ticket.sla_breached"),
                                                          (acme.lead.id, "webhook.disabled")]


def test_reading_and_marking_read_is_per_person(ctx, acme, globex):
    ticket = make_ticket(acme, acme.lead, assignee_id=acme.agent.id)
    mine = rows(Notification.user_id == acme.agent.id)[0]
    page = notifications.list_notifications(acme.uow(acme.agent))
    assert page.total == 1 and page.items[0].ticket_subject == "Printer on fire"
    assert page.items[0].ticket_number == ticket.number and page.items[0].event_label == "Assigned to you"
    assert notifications.unread_count(acme.uow(acme.agent)) == 1
    with pytest.raises(NotFound):
        notifications.mark_read(acme.uow(acme.lead), mine.id)
    with pytest.raises(NotFound):
        notifications.mark_read(globex.uow(globex.agent), mine.id)
    with pytest.raises(PermissionDenied):
        notifications.unread_count(UnitOfWork(acme.tenant, Actor.system("job")))
    with pytest.raises(ValidationFailed):
        notifications.list_notifications(acme.uow(acme.agent), limit=0)
    with acme.uow(acme.agent) as uow:
        assert notifications.mark_read(uow, mine.id).read
        uow.commit()
    with acme.uow(acme.agent) as uow:  # already read: unchanged, no second audit row
        notifications.mark_read(uow, mine.id)
        assert notifications.mark_all_read(uow) == 0
        uow.commit()
    assert len(db.session.scalars(select(AuditLog).where(AuditLog.entity_type == "Notification")).all()) == 1


def test_following_is_idempotent_and_audited_once(ctx, acme):
    ticket = make_ticket(acme)
    for _ in range(2):
        with acme.uow(acme.lead) as uow:
            notifications.follow_ticket(uow, ticket.number)
            uow.commit()
    assert notifications.follows_ticket(acme.uow(acme.lead), ticket.number)
    assert not notifications.follows_ticket(acme.uow(acme.agent), ticket.number)
    for _ in range(2):
        with acme.uow(acme.lead) as uow:
            notifications.unfollow_ticket(uow, ticket.number)
            uow.commit()
    assert not notifications.follows_ticket(acme.uow(acme.lead), ticket.number)
    actions = [a.action for a in db.session.scalars(select(AuditLog).where(AuditLog.entity_type == "TicketFollower")
                                                    .order_by(AuditLog.seq))]
    assert actions == ["CREATE", "DELETE"]
