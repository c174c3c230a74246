"""Notifications through pages and API: the bell, the list, marking read, following, preferences, the email log."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, EmailMessage, Notification, NotificationPreference, TicketFollower
from app.services import comments, tickets
from tests.conftest import login, make_ticket
from tests.integration.api.conftest import make_token
from tests.integration.notifications.support import emails, notifications, only

HTMX = {"HX-Request": "true"}


@pytest.fixture
def client_for(app):
    def build(user):
        client = app.test_client()
        assert login(client, user).status_code == 302
        return client

    return build


@pytest.fixture
def api(app):
    """api(ws, user) → (get, post, put, delete) sending a fresh bearer token of ``user``."""

    def build(ws, user):
        token = make_token(app, ws, user)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}

        class Api:
            def __getattr__(self, verb):
                return lambda path, **kw: getattr(client, verb)(path, headers=headers, **kw)

        return Api()

    return build


def assigned_tickets(app, ws, n: int, subject="Printer on fire") -> list[int]:
    """n tickets made by the lead and assigned to the agent: n notifications for the agent."""
    numbers = []
    with app.app_context():
        for i in range(n):
            numbers.append(make_ticket(ws, ws.lead, subject=f"{subject} {i + 1}", assignee_id=ws.agent.id).number)
    return numbers


def bell_count(html: str) -> int | None:
    match = re.search(r'class="bell-count" id="bell-count">(\d+|99\+)<', html)
    return int(match.group(1)) if match else None


# -- the bell and the list ---------------------------------------------------------------------------
def test_bell_counts_unread_and_the_page_lists_event_ticket_and_time(app, acme, client_for):
    numbers = assigned_tickets(app, acme, 3, subject="<i>Printer</i>")
    agent = client_for(acme.agent)

    page = agent.get("/tickets").get_data(as_text=True)
    assert 'id="notification-bell"' in page and 'hx-get="/notifications/bell"' in page
    assert 'hx-trigger="load, every 30s, ticketry:bell-refresh from:body delay:500ms"' in page
    bell = agent.get("/notifications/bell", headers=HTMX).get_data(as_text=True)
    assert bell_count(bell) == 3 and "<span class=\"sr-only\"> unread</span>" in bell
    assert 'href="/notifications"' in bell

    html = agent.get("/notifications").get_data(as_text=True)
    assert "3 unread" in html
    for number in numbers:
        assert f'href="/tickets/{number}"' in html
    assert "Assigned to you" in html  # the event
    assert "&lt;i&gt;Printer&lt;/i&gt; 1" in html and "<i>Printer" not in html  # the subject, escaped
    assert "just now" in html and "<time" in html  # when
    assert html.count('class="notification unread"') == 3

    # The lead did the assigning: nothing for the lead.
    assert bell_count(client_for(acme.lead).get("/notifications/bell").get_data(as_text=True)) is None


def test_mark_one_read_by_htmx_and_by_plain_post_then_all(app, acme, client_for):
    assign = assigned_tickets(app, acme, 3)
    agent = client_for(acme.agent)
    with app.app_context():
        ids = [n.id for n in notifications(Notification.user_id == acme.agent.id)]

    row = agent.post(f"/notifications/{ids[0]}/read", headers=HTMX)
    assert row.status_code == 200
    fragment = row.get_data(as_text=True)
    assert fragment.startswith(f'<li class="notification" id="notification-{ids[0]}">') and "Read" in fragment
    assert bell_count(agent.get("/notifications/bell").get_data(as_text=True)) == 2

    plain = agent.post(f"/notifications/{ids[1]}/read")
    assert plain.status_code == 302 and plain.headers["Location"].endswith("/notifications")
    assert bell_count(agent.get("/notifications/bell").get_data(as_text=True)) == 1

    unread_only = agent.get("/notifications?show=unread").get_data(as_text=True)
    assert f'id="notification-{ids[2]}"' in unread_only and f'id="notification-{ids[0]}"' not in unread_only

    everything = agent.post("/notifications/read-all", headers={**HTMX, "HX-Target": "notification-list"})
    assert "1 notification marked read." in everything.get_data(as_text=True)
    assert bell_count(agent.get("/notifications/bell").get_data(as_text=True)) is None
    with app.app_context():
        assert all(n.read_at is not None for n in notifications())
        audit = db.session.scalars(select(AuditLog).where(AuditLog.entity_type == "Notification")).all()
        assert len(audit) == 3 and {a.actor_label for a in audit} == {"agent@acme.test"}
    assert len(assign) == 3


def test_notifications_page_is_paginated(app, acme, client_for):
    assigned_tickets(app, acme, 23)
    agent = client_for(acme.agent)
    first = agent.get("/notifications").get_data(as_text=True)
    assert first.count('class="notification unread"') == 20 and "Page 1 of 2" in first
    second = agent.get("/notifications?page=2", headers={**HTMX, "HX-Target": "notification-list"})
    body = second.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="notification-list"') and body.count('class="notification unread"') == 3


def test_someone_elses_notification_is_a_404(app, acme, globex, client_for):
    assigned_tickets(app, acme, 1)
    with app.app_context():
        notification_id = only(notifications()).id
    assert client_for(acme.lead).post(f"/notifications/{notification_id}/read").status_code == 404
    assert client_for(globex.agent).post(f"/notifications/{notification_id}/read").status_code == 404
    with app.app_context():
        assert only(notifications()).read_at is None


def test_api_lists_with_unread_count_and_marks_read(app, acme, globex, api):
    numbers = assigned_tickets(app, acme, 3)
    agent = api(acme, acme.agent)

    body = agent.get("/api/v1/notifications?page=1&limit=2").json
    assert body["unreadCount"] == 3
    assert body["pagination"] == {"page": 1, "limit": 2, "total": 3, "totalPages": 2, "hasNext": True,
                                  "hasPrev": False}
    first = body["data"][0]
    assert set(first) == {"id", "event", "eventLabel", "title", "ticket", "createdAt", "readAt", "read"}
    assert first["event"] == "ticket.assigned" and first["eventLabel"] == "Assigned to you"
    assert first["ticket"] == {"number": numbers[-1], "subject": "Printer on fire 3"}
    assert first["read"] is False and first["readAt"] is None and first["createdAt"]

    one = agent.post(f"/api/v1/notifications/{first['id']}/read")
    assert one.status_code == 200 and one.json["read"] is True and one.json["readAt"]
    assert agent.get("/api/v1/notifications?unread=true").json["pagination"]["total"] == 2

    ids = [n["id"] for n in agent.get("/api/v1/notifications?unread=true").json["data"]]
    some = agent.post("/api/v1/notifications/read", json={"ids": ids[:1]})
    assert some.json == {"updated": 1, "unreadCount": 1}
    rest = agent.post("/api/v1/notifications/read", json={"all": True})
    assert rest.json == {"updated": 1, "unreadCount": 0}

    assert agent.post("/api/v1/notifications/read", json={}).status_code == 422
    assert agent.post("/api/v1/notifications/read", json={"ids": [1], "all": True}).status_code == 422
    assert agent.get("/api/v1/notifications?limit=101").status_code == 422
    # Another person's (or tenant's) notification: 404, and nothing changes.
    other = api(globex, globex.agent)
    assert other.post(f"/api/v1/notifications/{first['id']}/read").status_code == 404
    assert other.post("/api/v1/notifications/read", json={"ids": [first["id"]]}).status_code == 404
    assert other.get("/api/v1/notifications").json["pagination"]["total"] == 0
    assert api(acme, acme.lead).get("/api/v1/notifications").json["unreadCount"] == 0
    assert app.test_client().get("/api/v1/notifications").status_code == 401


# -- nobody hears about their own action ----------------------------------------------------------------
def test_own_assignment_and_own_comment_notify_nobody(app, acme):
    with app.app_context():
        ticket = make_ticket(acme, acme.agent, assignee_id=acme.agent.id)  # self-assigned at creation
        with acme.uow(acme.lead) as uow:
            tickets.update_ticket(uow, ticket.number, {"assignee_id": acme.lead.id})  # the lead takes it
            uow.commit()
        with acme.uow(acme.lead) as uow:
            comments.add_comment(uow, ticket.number, body="On it", public=True)  # own ticket, own comment
            uow.commit()
        assert notifications() == [] and emails() == []
        with acme.uow(acme.agent) as uow:
            comments.add_comment(uow, ticket.number, body="Thanks", public=True)
            uow.commit()
        row = only(notifications())
        assert (row.user_id, row.event_type) == (acme.lead.id, "comment.created")
        assert row.title == f"Agent Acme replied to #{ticket.number}: Printer on fire"


# -- following ------------------------------------------------------------------------------------------
def test_follow_button_on_the_ticket_page_with_htmx_and_plain_posts(app, acme, client_for):
    with app.app_context():
        number = make_ticket(acme, acme.lead, assignee_id=acme.lead.id).number
    agent = client_for(acme.agent)
    page = agent.get(f"/tickets/{number}").get_data(as_text=True)
    assert f'id="follow-{number}"' in page and f'action="/tickets/{number}/follow"' in page and ">Follow<" in page

    fragment = agent.post(f"/tickets/{number}/follow", headers=HTMX).get_data(as_text=True)
    assert fragment.startswith(f'<form id="follow-{number}"') and ">Unfollow<" in fragment
    assert f'hx-post="/tickets/{number}/unfollow"' in fragment
    assert ">Unfollow<" in agent.get(f"/tickets/{number}").get_data(as_text=True)

    with app.app_context():
        with acme.uow(acme.lead) as uow:
            comments.add_comment(uow, number, body="Update for followers", public=True)
            uow.commit()
        row = only(notifications())
        assert (row.user_id, row.event_type) == (acme.agent.id, "comment.created")

    plain = agent.post(f"/tickets/{number}/unfollow")
    assert plain.status_code == 302 and plain.headers["Location"].endswith(f"/tickets/{number}")
    assert ">Follow<" in agent.get(f"/tickets/{number}").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(TicketFollower)).all() == []
        actions = [a.action for a in db.session.scalars(select(AuditLog).where(
            AuditLog.entity_type == "TicketFollower").order_by(AuditLog.seq))]
        assert actions == ["CREATE", "DELETE"]
    assert agent.post("/tickets/999/follow").status_code == 404


def test_follow_through_the_api(app, acme, globex, api):
    with app.app_context():
        number = make_ticket(acme, acme.lead).number
    agent = api(acme, acme.agent)
    assert agent.get(f"/api/v1/tickets/{number}/follow").json == {"following": False}
    assert agent.put(f"/api/v1/tickets/{number}/follow").json == {"following": True}
    assert agent.put(f"/api/v1/tickets/{number}/follow").json == {"following": True}  # idempotent
    assert agent.get(f"/api/v1/tickets/{number}/follow").json == {"following": True}
    with app.app_context():
        assert len(db.session.scalars(select(TicketFollower)).all()) == 1
    assert agent.delete(f"/api/v1/tickets/{number}/follow").status_code == 204
    assert agent.get(f"/api/v1/tickets/{number}/follow").json == {"following": False}
    assert api(globex, globex.agent).put(f"/api/v1/tickets/{number}/follow").status_code == 404


# -- preferences -------------------------------------------------------------------------------------
def test_preferences_page_saves_with_an_audit_row_and_is_respected(app, acme, client_for):
    agent = client_for(acme.agent)
    page = agent.get("/settings/notifications").get_data(as_text=True)
    assert page.count('type="checkbox"') == 8 and page.count("checked") == 8  # every event, both channels, on
    assert 'name="ticket_assigned__email"' in page and "Assigned to you: by email" in page

    form = {"ticket_assigned__in_app": "y", "comment_created__in_app": "y", "comment_created__email": "y",
            "ticket_sla_warning__in_app": "y", "ticket_sla_warning__email": "y",
            "ticket_sla_breached__in_app": "y", "ticket_sla_breached__email": "y"}  # assigned by email: off
    saved = agent.post("/settings/notifications", data=form)
    assert saved.status_code == 302
    page = agent.get("/settings/notifications").get_data(as_text=True)
    assert page.count("checked") == 7 and "Notification preferences saved." in page

    assigned_tickets(app, acme, 1)
    with app.app_context():
        assert len(notifications()) == 1 and emails() == []  # email off: no EmailMessage, still in the app
        audit = db.session.scalar(select(AuditLog).where(AuditLog.entity_type == "NotificationPreference"))
        assert audit.action == "UPDATE" and audit.entity_id == str(acme.agent.id)
        assert audit.changes == {"before": {"ticket.assigned.email": True}, "after": {"ticket.assigned.email": False}}

    htmx = agent.post("/settings/notifications", data={**form, "ticket_assigned__email": "y"}, headers=HTMX)
    assert htmx.status_code == 200 and "Saved." in htmx.get_data(as_text=True)
    with app.app_context():
        assert {(p.event_type, p.channel, p.enabled) for p in db.session.scalars(select(NotificationPreference))} == {
            ("ticket.assigned", "email", True)}


def test_preferences_through_the_api_in_app_off_means_no_notification(app, acme, api):
    agent = api(acme, acme.agent)
    body = agent.get("/api/v1/notifications/preferences").json
    assert [p["event"] for p in body["data"]] == ["ticket.assigned", "comment.created", "ticket.sla_warning",
                                                  "ticket.sla_breached"]
    assert all(p["inApp"] and p["email"] for p in body["data"])

    changed = agent.put("/api/v1/notifications/preferences",
                        json={"preferences": [{"event": "ticket.assigned", "inApp": False}]})
    assert changed.status_code == 200
    assert changed.json["data"][0] == {"event": "ticket.assigned", "label": "Assigned to you",
                                       "description": "A ticket is assigned to me.", "inApp": False, "email": True}
    bad = agent.put("/api/v1/notifications/preferences", json={"preferences": [{"event": "ticket.created"}]})
    assert bad.status_code == 422

    assigned_tickets(app, acme, 1)
    with app.app_context():
        assert notifications() == []  # in-app off: no Notification
        assert only(emails()).recipient == "agent@acme.test"  # email still on


# -- the admin email log ----------------------------------------------------------------------------
def test_email_log_is_for_admins_with_status_filter_and_retry(app, acme, client_for):
    assigned_tickets(app, acme, 2)
    admin = client_for(acme.admin)
    assert client_for(acme.agent).get("/admin/emails").status_code == 403
    assert ">Emails<" in admin.get("/tickets").get_data(as_text=True)
    assert ">Emails<" not in client_for(acme.agent).get("/tickets").get_data(as_text=True)

    html = admin.get("/admin/emails").get_data(as_text=True)
    assert "No mail server is configured" in html and html.count("<tr id=\"email-") == 2
    assert "Stored (not sent)" in html and "agent@acme.test" in html
    with app.app_context():
        first, second = emails()
        db.session.execute(EmailMessage.__table__.update().where(EmailMessage.id == first.id)
                           .values(status="failed", last_error="554 5.7.1 Refused", last_code=554))
        db.session.commit()
    failed = admin.get("/admin/emails?status=failed", headers={**HTMX, "HX-Target": "email-log"})
    body = failed.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="email-log"') and body.count("<tr id=\"email-") == 1
    assert "554 5.7.1 Refused" in body and ">Retry<" in body

    detail = admin.get(f"/admin/emails/{first.id}").get_data(as_text=True)
    assert first.message_id.replace("<", "&lt;").replace(">", "&gt;") in detail and "Plain-text part" in detail

    retried = admin.post(f"/admin/emails/{first.id}/retry", headers=HTMX)
    assert retried.status_code == 200 and "Queued again." in retried.get_data(as_text=True)
    with app.app_context():
        assert emails(EmailMessage.id == first.id)[0].status == "stored"  # sent again: no server, stored
    plain = admin.post(f"/admin/emails/{second.id}/retry")
    assert plain.status_code == 302
    assert client_for(acme.agent).post(f"/admin/emails/{first.id}/retry").status_code == 403
    assert admin.get("/admin/emails/99999").status_code == 404
