"""The new-ticket form, the ticket page, its side panel and replies (htmx and plain posts)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, Comment, OutboxEvent, Ticket, TicketActivity
from app.services import comments as comment_service
from app.services import tickets as ticket_service
from tests.conftest import make_ticket

HX = {"HX-Request": "true"}
VALID = {"subject": "Cannot print", "description": "The **printer** is jammed.", "requester_name": "Pat",
         "requester_email": "pat@example.com", "priority": "high", "assignee_id": "", "tags": "printer, Office"}


def _ticket(db_read, number=1, ws=None):
    def load():
        stmt = select(Ticket).where(Ticket.number == number)
        if ws is not None:
            stmt = stmt.where(Ticket.tenant_id == ws.tenant.id)
        ticket = db.session.scalar(stmt)
        if ticket is None:
            return None
        return {"status": ticket.status, "priority": ticket.priority, "assignee_id": ticket.assignee_id,
                "subject": ticket.subject, "updated_at": ticket.updated_at}
    return db_read(load)


def _count(db_read, model):
    return db_read(lambda: db.session.scalar(select(func.count()).select_from(model)))


def _footprint(db_read):
    return tuple(_count(db_read, m) for m in (Ticket, Comment, TicketActivity, AuditLog, OutboxEvent))


def _field_error(html: str, field_id: str) -> str | None:
    match = re.search(rf'<span class="error" id="{field_id}-error">(.*?)</span>', html, re.S)
    return match.group(1) if match else None


# -- new ticket ----------------------------------------------------------------------------
def test_new_ticket_form_renders(agent_client, acme):
    html = agent_client.get("/tickets/new").get_data(as_text=True)
    assert 'name="subject"' in html and 'name="requester_email"' in html
    assert f'<option value="{acme.lead.id}">{acme.lead.name}</option>' in html


def test_new_ticket_is_created_and_shown(agent_client, acme, db_read):
    response = agent_client.post("/tickets/new", data={**VALID, "assignee_id": str(acme.lead.id)})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/tickets/1")
    page = agent_client.get("/tickets/1").get_data(as_text=True)
    assert "Ticket #1 created." in page
    assert "Cannot print" in page and "<strong>printer</strong>" in page
    stored = _ticket(db_read)
    assert (stored["priority"], stored["assignee_id"], stored["status"]) == ("high", acme.lead.id, "new")


@pytest.mark.parametrize("changes,field,message", [
    ({"subject": ""}, "subject", "This field is required."),
    ({"requester_email": "not-an-email"}, "requester_email", "Not a valid email address."),
    ({"tags": "ok, b@d"}, "tags", "Invalid tag"),
    ({"priority": "critical"}, "priority", "Must be one of"),
    ({"description": "   "}, "description", "This field is required."),
])
def test_new_ticket_inline_errors_and_nothing_saved(agent_client, db_read, changes, field, message):
    before = _footprint(db_read)
    response = agent_client.post("/tickets/new", data={**VALID, **changes})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in (_field_error(html, field) or "")
    assert "Nothing was saved." in html
    assert re.search(rf'<input[^>]*aria-invalid="true"[^>]*name="{field}"|name="{field}"[^>]*aria-invalid="true"|'
                     rf'<(select|textarea)[^>]*aria-invalid="true"[^>]*name="{field}"', html)
    # The values typed in are kept.
    if field != "requester_email":
        assert 'value="pat@example.com"' in html
    assert _footprint(db_read) == before


def test_new_ticket_several_errors_at_once(agent_client, db_read):
    response = agent_client.post("/tickets/new", data={**VALID, "subject": "", "requester_email": "x"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert _field_error(html, "subject") and _field_error(html, "requester_email")
    assert _count(db_read, Ticket) == 0


def test_new_ticket_assignee_from_another_workspace_is_refused(agent_client, globex, db_read):
    response = agent_client.post("/tickets/new", data={**VALID, "assignee_id": str(globex.agent.id)})
    assert response.status_code == 422
    assert "Not an active person of this workspace." in (_field_error(response.get_data(as_text=True),
                                                                       "assignee_id") or "")
    assert _count(db_read, Ticket) == 0


# -- the ticket page ------------------------------------------------------------------------
def test_description_is_rendered_sanitised(app, acme, agent_client):
    hostile = ("**bold** <script>alert('x')</script> <img src=x onerror=alert(1)> "
               "[evil](javascript:alert(1)) [ok](https://example.com)")
    with app.app_context():
        make_ticket(acme, description=hostile)
    html = agent_client.get("/tickets/1").get_data(as_text=True)
    prose = re.search(r'<div class="prose">(.*?)</div>', html, re.S).group(1)
    assert "<strong>bold</strong>" in prose
    assert "<script" not in prose and "&lt;script&gt;" in prose
    assert "<img" not in prose
    assert 'href="javascript' not in prose.lower()
    assert 'href="https://example.com"' in prose


def test_public_and_internal_comments_are_told_apart(app, acme, agent_client):
    with app.app_context():
        make_ticket(acme)
        for body, public in (("Hello customer", True), ("Between us: *refund*", False)):
            with acme.uow() as uow:
                comment_service.add_comment(uow, 1, body=body, public=public)
                uow.commit()
    html = agent_client.get("/tickets/1").get_data(as_text=True)
    comments = re.findall(r'<li class="comment (public|internal)" id="comment-\d+">(.*?)</li>', html, re.S)
    assert [kind for kind, _ in comments] == ["public", "internal"]
    assert "Public reply" in comments[0][1] and "Hello customer" in comments[0][1]
    assert "Internal note" in comments[1][1] and "<em>refund</em>" in comments[1][1]
    assert "Internal note" not in comments[0][1]


def test_unknown_ticket_is_404(agent_client):
    assert agent_client.get("/tickets/999").status_code == 404
    assert agent_client.post("/tickets/999/fields", data={"status": "open"}, headers=HX).status_code == 404
    assert agent_client.post("/tickets/999/comments", data={"body": "x"}).status_code == 404


# -- the side panel ---------------------------------------------------------------------------
def test_side_panel_update_via_htmx_returns_fragment_and_oob_activity(app, acme, agent_client, db_read):
    with app.app_context():
        make_ticket(acme)
    response = agent_client.post("/tickets/1/fields", headers=HX,
                                 data={"status": "pending", "priority": "urgent", "assignee_id": str(acme.lead.id),
                                       "tags": "billing, vip"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert html.lstrip().startswith('<section class="card side-panel" id="side-panel"')
    panel = html.split('id="activity"')[0]
    assert "hx-swap-oob" not in panel  # the panel itself is the swap target
    assert "Saved." in panel
    assert re.search(r'<ol class="activity" id="activity" hx-swap-oob="true">', html)
    activity = re.search(r'id="activity" hx-swap-oob="true">(.*?)</ol>', html, re.S).group(1)
    assert "Pending" in activity and "urgent" in activity and acme.lead.name in activity
    assert re.search(r'id="ticket-heading" hx-swap-oob="true"', html)
    assert '<span class="badge status-pending" id="ticket-status">Pending</span>' in html
    stored = _ticket(db_read)
    assert (stored["status"], stored["priority"], stored["assignee_id"]) == ("pending", "urgent", acme.lead.id)


def test_side_panel_update_via_plain_post_redirects(app, acme, agent_client, db_read):
    with app.app_context():
        make_ticket(acme)
    response = agent_client.post("/tickets/1/fields", data={"status": "open", "priority": "low"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/tickets/1")
    page = agent_client.get("/tickets/1").get_data(as_text=True)
    assert "Ticket updated." in page and "status-open" in page
    assert (_ticket(db_read)["status"], _ticket(db_read)["priority"]) == ("open", "low")


def test_side_panel_only_changes_what_is_sent(app, acme, agent_client, db_read):
    with app.app_context():
        make_ticket(acme, assignee_id=acme.agent.id, priority="high")
    agent_client.post("/tickets/1/fields", headers=HX, data={"status": "open"})
    stored = _ticket(db_read)
    assert (stored["status"], stored["priority"], stored["assignee_id"]) == ("open", "high", acme.agent.id)


def test_side_panel_offers_only_allowed_transitions(app, acme, agent_client):
    with app.app_context():
        make_ticket(acme)
    html = agent_client.get("/tickets/1").get_data(as_text=True)
    select_html = re.search(r'<select id="panel-status" name="status">(.*?)</select>', html, re.S).group(1)
    options = re.findall(r'<option value="(\w+)"', select_html)
    assert options == ["new", "open", "pending", "on_hold", "solved"]
    assert "closed" not in options


@pytest.mark.parametrize("start,target", [("new", "closed"), ("open", "new"), ("pending", "closed")])
def test_invalid_transition_is_409_and_changes_nothing(app, acme, agent_client, db_read, start, target):
    with app.app_context():
        make_ticket(acme)
        if start != "new":
            with acme.uow() as uow:
                ticket_service.update_ticket(uow, 1, {"status": start})
                uow.commit()
    before, footprint = _ticket(db_read), _footprint(db_read)
    response = agent_client.post("/tickets/1/fields", headers=HX, data={"status": target, "priority": "urgent"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert re.search(r'<div class="form-error" role="alert">[^<]*cannot become ' + target, html)
    assert "hx-swap-oob" not in html and "Saved." not in html
    assert _ticket(db_read) == before  # the priority sent along was not applied either
    assert _footprint(db_read) == footprint


def test_invalid_transition_via_plain_post_flashes_the_error(app, acme, agent_client, db_read):
    with app.app_context():
        make_ticket(acme)
    response = agent_client.post("/tickets/1/fields", data={"status": "closed"})
    assert response.status_code == 302
    page = agent_client.get("/tickets/1").get_data(as_text=True)
    assert re.search(r'class="flash flash-error"[^>]*>[^<]*cannot become closed', page)
    assert _ticket(db_read)["status"] == "new"


def test_side_panel_validation_error_is_422(app, acme, agent_client, db_read):
    with app.app_context():
        make_ticket(acme)
    response = agent_client.post("/tickets/1/fields", headers=HX, data={"priority": "meh", "tags": "b@d"})
    assert response.status_code == 422
    assert 'class="form-error"' in response.get_data(as_text=True)
    assert _ticket(db_read)["priority"] == "normal"
    response = agent_client.post("/tickets/1/fields", headers=HX, data={"assignee_id": "999999"})
    assert response.status_code == 422
    assert _ticket(db_read)["assignee_id"] is None


def test_closed_ticket_shows_facts_not_a_form(app, acme, agent_client):
    with app.app_context():
        make_ticket(acme)
        for status in ("solved", "closed"):
            with acme.uow() as uow:
                ticket_service.update_ticket(uow, 1, {"status": status})
                uow.commit()
    html = agent_client.get("/tickets/1").get_data(as_text=True)
    assert "Closed tickets are final." in html
    assert 'id="panel-status"' not in html and 'id="reply-form"' not in html
    assert agent_client.post("/tickets/1/fields", headers=HX, data={"priority": "low"}).status_code == 409


# -- replies ------------------------------------------------------------------------------------
def test_reply_via_htmx_swaps_conversation_and_oob_blocks(app, acme, agent_client, db_read):
    with app.app_context():
        make_ticket(acme)
    response = agent_client.post("/tickets/1/comments", headers=HX, data={"kind": "public", "body": "On **it**"})
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "ticketry:comment-added"
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert html.lstrip().startswith('<div id="conversation"')
    conversation = html.split('id="ticket-heading"')[0]
    assert re.search(r'<li class="comment public" id="comment-\d+">', conversation)
    assert "On <strong>it</strong>" in conversation
    for block in ("activity", "ticket-heading", "side-panel", "reply-box"):
        assert re.search(rf'<[^>]*\bid="{block}"[^>]*hx-swap-oob="true"', html), block
    # The agent's public reply opened the new ticket, and the fresh reply box is empty.
    assert '<span class="badge status-open" id="ticket-status">Open</span>' in html
    reply_box = html[html.index('id="reply-box"'):]
    assert re.search(r'<textarea[^>]*name="body"[^>]*>\s*</textarea>', reply_box)
    assert _ticket(db_read)["status"] == "open"
    assert _count(db_read, Comment) == 1


def test_internal_note_via_htmx_keeps_status(app, acme, agent_client, db_read):
    with app.app_context():
        make_ticket(acme)
    response = agent_client.post("/tickets/1/comments", headers=HX, data={"kind": "internal", "body": "psst"})
    assert response.status_code == 200
    assert re.search(r'<li class="comment internal"', response.get_data(as_text=True))
    assert _ticket(db_read)["status"] == "new"
    assert db_read(lambda: db.session.scalar(select(Comment.public))) is False


def test_reply_via_plain_post_redirects_to_the_conversation(app, acme, agent_client, db_read):
    with app.app_context():
        make_ticket(acme)
    response = agent_client.post("/tickets/1/comments", data={"kind": "public", "body": "Plain reply"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/tickets/1#conversation")
    page = agent_client.get("/tickets/1").get_data(as_text=True)
    assert "Reply added." in page and "Plain reply" in page
    assert _count(db_read, Comment) == 1


@pytest.mark.parametrize("body", ["", "   \n  "])
def test_empty_reply_via_htmx_is_422_and_retargets_the_reply_box(app, acme, agent_client, db_read, body):
    with app.app_context():
        make_ticket(acme)
    footprint = _footprint(db_read)
    response = agent_client.post("/tickets/1/comments", headers=HX, data={"kind": "public", "body": body})
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#reply-box"
    assert response.headers["HX-Reswap"] == "outerHTML"
    assert "HX-Trigger" not in response.headers
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="reply-box"')
    assert "hx-swap-oob" not in html
    assert "This field is required." in html
    assert _footprint(db_read) == footprint
    assert _ticket(db_read)["status"] == "new"


def test_empty_reply_via_plain_post_flashes_and_saves_nothing(app, acme, agent_client, db_read):
    with app.app_context():
        make_ticket(acme)
    response = agent_client.post("/tickets/1/comments", data={"kind": "public", "body": ""})
    assert response.status_code == 302
    assert "This field is required." in agent_client.get("/tickets/1").get_data(as_text=True)
    assert _count(db_read, Comment) == 0


def test_reply_to_a_closed_ticket_is_refused(app, acme, agent_client, db_read):
    with app.app_context():
        make_ticket(acme)
        for status in ("solved", "closed"):
            with acme.uow() as uow:
                ticket_service.update_ticket(uow, 1, {"status": status})
                uow.commit()
    response = agent_client.post("/tickets/1/comments", headers=HX, data={"kind": "public", "body": "late"})
    assert response.status_code == 409
    assert _count(db_read, Comment) == 0
