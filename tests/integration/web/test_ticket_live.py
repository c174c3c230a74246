"""The ticket page's live poll, presence heartbeats and the reply collision check, through the test client."""
from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.models import Comment
from app.models.base import utcnow
from app.models.presence import TicketPresence
from app.services import comments as comment_service
from app.services import tickets as ticket_service
from tests.conftest import make_ticket

HX = {"HX-Request": "true"}


def _poll_url(html: str) -> str:
    match = re.search(r'id="ticket-live" hidden hx-get="([^"]+)"', html)
    assert match, "the page has no live poll"
    return match.group(1).replace("&amp;", "&")


def _comment(app, ws, user, body, number=1, public=True):
    with app.app_context():
        with ws.uow(user) as uow:
            comment = comment_service.add_comment(uow, number, body=body, public=public)
            uow.commit()
        return comment.id


def _count_comments(db_read):
    return db_read(lambda: db.session.scalar(select(func.count()).select_from(Comment)))


def _seen_id(html: str) -> str:
    return re.search(r'name="seen_comment_id" value="(\d+)"', html).group(1)


# -- live poll ----------------------------------------------------------------------------------------
def test_poll_is_204_when_nothing_changed(app, acme, agent_client):
    with app.app_context():
        make_ticket(acme)
    url = _poll_url(agent_client.get("/tickets/1").get_data(as_text=True))
    assert re.fullmatch(r"/tickets/1/live\?since=\d+&presence=[0-9a-f]{12}", url)
    for _ in range(2):
        response = agent_client.get(url, headers=HX)
        assert response.status_code == 204 and response.get_data() == b""


def test_poll_sends_the_new_comment_and_fields_out_of_band(app, acme, agent_client):
    with app.app_context():
        make_ticket(acme)
    url = _poll_url(agent_client.get("/tickets/1").get_data(as_text=True))
    _comment(app, acme, acme.lead, "I'll take **this** one")
    with app.app_context():
        with acme.uow(acme.lead) as uow:
            ticket_service.update_ticket(uow, 1, {"priority": "urgent"})
            uow.commit()
    response = agent_client.get(url, headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for block in ("ticket-heading", "conversation", "side-panel", "activity"):
        assert re.search(rf'<[^>]*\bid="{block}"[^>]*hx-swap-oob="true"', html), block
    assert 'id="reply-box"' not in html  # the draft being typed is never replaced
    assert re.search(r'<li class="comment public is-new" id="comment-\d+">', html)
    assert "I&#39;ll take <strong>this</strong> one" in html or "I'll take <strong>this</strong> one" in html
    assert '<option value="urgent" selected>' in html
    announcer = re.search(r'<div id="ticket-announcer"[^>]*hx-swap-oob="innerHTML">(.*?)</div>', html, re.S).group(1)
    assert "New reply from Lead Acme." in announcer and "Lead Acme changed priority." in announcer
    # The swapped heading carries the poll from the new version: asked again, nothing has changed.
    assert agent_client.get(_poll_url(html), headers=HX).status_code == 204


def test_a_reply_committed_during_a_poll_is_sent_by_the_next_poll(app, acme, agent_client, monkeypatch):
    """The race PostgreSQL allows (each statement sees the latest commit): a poll decides from the ticket's
    version that only the presence list changed, then someone's reply commits before the page is drawn.
    The answer must keep asking from the version it decided on, so the next poll brings the reply. (On
    SQLite the poll's read snapshot already hides the reply; this fails on PostgreSQL without the fix.)"""
    from app.web import ticket_page

    with app.app_context():
        make_ticket(acme)
    page = agent_client.get("/tickets/1").get_data(as_text=True)
    version = re.search(r"since=(\d+)", _poll_url(page)).group(1)
    draw = ticket_page.ticket_context

    def reply_lands_meanwhile(uow, number, **extra):
        monkeypatch.setattr(ticket_page, "ticket_context", draw)  # once
        _comment(app, acme, acme.lead, "Landed between the two reads")
        return draw(uow, number, **extra)

    monkeypatch.setattr(ticket_page, "ticket_context", reply_lands_meanwhile)
    stale_presence = f"/tickets/1/live?since={version}&presence=000000000000"
    answer = agent_client.get(stale_presence, headers=HX)
    assert answer.status_code == 200
    assert 'id="conversation"' not in answer.get_data(as_text=True)  # only the presence changed, when decided
    next_poll = _poll_url(answer.get_data(as_text=True))
    assert f"since={version}&" in next_poll
    follow_up = agent_client.get(next_poll, headers=HX)
    assert follow_up.status_code == 200
    assert "Landed between the two reads" in follow_up.get_data(as_text=True)


def test_own_changes_are_not_announced(app, acme, agent_client):
    with app.app_context():
        make_ticket(acme)
    url = _poll_url(agent_client.get("/tickets/1").get_data(as_text=True))
    _comment(app, acme, acme.agent, "my own note", public=False)
    html = agent_client.get(url, headers=HX).get_data(as_text=True)
    announcer = re.search(r'<div id="ticket-announcer"[^>]*>(.*?)</div>', html, re.S).group(1)
    assert announcer.strip() == ""
    assert "is-new" not in html


def test_poll_without_htmx_redirects_to_the_page_and_other_tenants_get_404(app, acme, globex, agent_client,
                                                                          globex_client):
    with app.app_context():
        make_ticket(acme)
    response = agent_client.get("/tickets/1/live?since=1&presence=x")
    assert response.status_code == 302 and response.headers["Location"].endswith("/tickets/1")
    assert globex_client.get("/tickets/1/live?since=1", headers=HX).status_code == 404
    assert globex_client.post("/tickets/1/presence", data={"state": "viewing"}, headers=HX).status_code == 404


def test_a_malformed_version_gets_the_full_state(app, acme, agent_client):
    with app.app_context():
        make_ticket(acme)
    for since in ("", "abc", "²", "9" * 40):
        response = agent_client.get(f"/tickets/1/live?since={since}", headers=HX)
        assert response.status_code == 200, since
        assert 'id="conversation" hx-swap-oob="true"' in response.get_data(as_text=True)


# -- presence ------------------------------------------------------------------------------------------
def test_presence_shows_who_views_and_who_types(app, acme, agent_client, lead_client, db_read):
    with app.app_context():
        make_ticket(acme)
    page = agent_client.get("/tickets/1").get_data(as_text=True)
    assert '<form id="presence-beat" hidden method="post" action="/tickets/1/presence"' in page
    url = _poll_url(page)
    assert db_read(lambda: db.session.scalar(select(func.count()).select_from(TicketPresence))) == 0  # GET writes nothing

    assert lead_client.post("/tickets/1/presence", data={"state": "viewing"}, headers=HX).status_code == 204
    html = agent_client.get(url, headers=HX).get_data(as_text=True)
    assert 'id="conversation"' not in html  # only the presence changed
    assert re.search(r'<span class="viewer">Lead Acme is viewing</span>', html)
    assert "Lead Acme is viewing." in html  # announced
    url = _poll_url(html)
    assert agent_client.get(url, headers=HX).status_code == 204

    assert lead_client.post("/tickets/1/presence", data={"state": "typing"}, headers=HX).status_code == 204
    html = agent_client.get(url, headers=HX).get_data(as_text=True)
    assert re.search(r'<span class="viewer typing">Lead Acme is typing a reply…</span>', html)
    # The lead does not see themself; a repeated heartbeat is one row, upserted.
    assert "Lead Acme is" not in lead_client.get("/tickets/1").get_data(as_text=True).split('id="ticket-presence"')[1][:300]
    assert lead_client.post("/tickets/1/presence", data={"state": "viewing"}, headers=HX).status_code == 204
    assert db_read(lambda: db.session.scalar(select(func.count()).select_from(TicketPresence))) == 1

    assert lead_client.post("/tickets/1/presence", data={"state": "left"}, headers=HX).status_code == 204
    html = agent_client.get(_poll_url(html), headers=HX).get_data(as_text=True)
    assert "Lead Acme is" not in html and "Nobody else is viewing this ticket." in html


def test_presence_fades_after_30_seconds_and_typing_after_10(app, acme, agent_client, lead_client):
    with app.app_context():
        make_ticket(acme)
    start = utcnow()
    with time_machine.travel(start, tick=False):
        lead_client.post("/tickets/1/presence", data={"state": "typing"}, headers=HX)
    with time_machine.travel(start + timedelta(seconds=12), tick=False):
        page = agent_client.get("/tickets/1").get_data(as_text=True)
        assert "Lead Acme is viewing" in page and "typing" not in page.split('id="ticket-presence"')[1][:200]
    with time_machine.travel(start + timedelta(seconds=31), tick=False):
        assert "Lead Acme is" not in agent_client.get("/tickets/1").get_data(as_text=True)


def test_presence_refuses_unknown_states_and_plain_posts_redirect(app, acme, agent_client, db_read):
    with app.app_context():
        make_ticket(acme)
    assert agent_client.post("/tickets/1/presence", data={"state": "dancing"}, headers=HX).status_code == 422
    assert db_read(lambda: db.session.scalar(select(func.count()).select_from(TicketPresence))) == 0
    response = agent_client.post("/tickets/1/presence", data={"state": "viewing"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/tickets/1")


def test_sending_a_reply_stops_typing(app, acme, agent_client, lead_client):
    with app.app_context():
        make_ticket(acme)
    lead_client.post("/tickets/1/presence", data={"state": "typing"}, headers=HX)
    lead_client.post("/tickets/1/comments", headers=HX, data={"kind": "public", "body": "Sent", "seen_comment_id": "0"})
    page = agent_client.get("/tickets/1").get_data(as_text=True)
    assert "Lead Acme is viewing" in page and "Lead Acme is typing" not in page


# -- collisions ------------------------------------------------------------------------------------------
def test_reply_after_someone_else_commented_is_refused_once_then_sent(app, acme, agent_client, db_read):
    with app.app_context():
        make_ticket(acme)
    page = agent_client.get("/tickets/1").get_data(as_text=True)
    seen = _seen_id(page)
    assert seen == "0"
    _comment(app, acme, acme.lead, "Lead got there **first**")
    draft = {"kind": "public", "body": "My careful draft", "seen_comment_id": seen}

    refused = agent_client.post("/tickets/1/comments", headers=HX, data=draft)
    assert refused.status_code == 409
    assert refused.headers["HX-Retarget"] == "#reply-box" and refused.headers["HX-Reswap"] == "outerHTML"
    html = refused.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="reply-box"')
    box = html.split('hx-swap-oob')[0]
    warning = box.index('id="reply-collision"')
    assert "Lead Acme replied while you were writing" in box
    assert box.index("Lead got there <strong>first</strong>") > warning  # their reply is shown first…
    assert box.index("My careful draft</textarea>") > box.index("Lead got there")  # …then the kept draft
    assert ">Send anyway</button>" in box
    new_seen = _seen_id(box)
    assert int(new_seen) > 0
    assert re.search(r'<div id="conversation" hx-swap-oob="true">', html)  # the conversation catches up too
    assert _count_comments(db_read) == 1

    sent = agent_client.post("/tickets/1/comments", headers=HX, data={**draft, "seen_comment_id": new_seen})
    assert sent.status_code == 200
    assert _count_comments(db_read) == 2


def test_own_comments_and_no_seen_id_never_collide(app, acme, agent_client, db_read):
    with app.app_context():
        make_ticket(acme)
    _comment(app, acme, acme.agent, "from my other tab")
    assert agent_client.post("/tickets/1/comments", headers=HX,
                             data={"kind": "public", "body": "again", "seen_comment_id": "0"}).status_code == 200
    _comment(app, acme, acme.lead, "lead")
    assert agent_client.post("/tickets/1/comments", headers=HX,
                             data={"kind": "public", "body": "no check"}).status_code == 200  # older clients
    assert _count_comments(db_read) == 4


def test_a_third_comment_after_the_warning_is_warned_about_again(app, acme, agent_client, db_read):
    with app.app_context():
        make_ticket(acme)
    first = _comment(app, acme, acme.lead, "one")
    _comment(app, acme, acme.admin, "two")
    html = agent_client.post("/tickets/1/comments", headers=HX,
                             data={"kind": "internal", "body": "draft", "seen_comment_id": str(first)}).get_data(as_text=True)
    assert "Admin Acme replied while you were writing" in html and ">one<" not in html.split('hx-swap-oob')[0]
    seen = _seen_id(html)
    _comment(app, acme, acme.lead, "three")
    again = agent_client.post("/tickets/1/comments", headers=HX,
                              data={"kind": "internal", "body": "draft", "seen_comment_id": seen})
    assert again.status_code == 409 and "Lead Acme replied" in again.get_data(as_text=True)
    assert _count_comments(db_read) == 3


def test_collision_without_javascript_renders_the_page_with_the_draft(app, acme, agent_client, db_read):
    with app.app_context():
        make_ticket(acme)
    _comment(app, acme, acme.lead, "Lead's answer")
    response = agent_client.post("/tickets/1/comments", data={"kind": "internal", "body": "Plain draft",
                                                              "seen_comment_id": "0"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "<html" in page and "Lead Acme replied while you were writing" in page
    assert "Plain draft</textarea>" in page
    assert re.search(r'<input[^>]*value="internal"[^>]*checked|<input checked[^>]*value="internal"', page)
    seen = _seen_id(page)
    response = agent_client.post("/tickets/1/comments", data={"kind": "internal", "body": "Plain draft",
                                                              "seen_comment_id": seen})
    assert response.status_code == 302
    assert _count_comments(db_read) == 2


def test_an_unchanged_poll_is_two_reads_beyond_sign_in(app, acme, agent_client, sql_counter):
    """The poll runs every 5 s per open tab: nothing changed costs the ticket's stamp and the presence rows."""
    with app.app_context():
        make_ticket(acme)
    for n in range(5):
        _comment(app, acme, acme.lead, f"comment {n}")
    url = _poll_url(agent_client.get("/tickets/1").get_data(as_text=True))
    with sql_counter() as statements:
        assert agent_client.get(url, headers=HX).status_code == 204
    poll = [s for s in statements if "ticket_presence" in s or "FROM tickets" in s]
    assert len(poll) == 2, poll
    assert not any(s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) for s in statements)
    assert not any("FROM comments" in s for s in statements)


def test_every_new_route_sends_anonymous_visitors_to_sign_in(app, acme):
    with app.app_context():
        make_ticket(acme)
    client = app.test_client()
    for method, path in (("GET", "/tickets/1/live?since=1"), ("POST", "/tickets/1/presence"),
                         ("GET", "/tickets/1/macro?macro=1"), ("GET", "/settings/macros"),
                         ("GET", "/settings/macros/new"), ("POST", "/settings/macros/new"),
                         ("GET", "/settings/macros/1"), ("POST", "/settings/macros/1"),
                         ("POST", "/settings/macros/1/delete")):
        response = client.open(path, method=method, headers=HX if method == "GET" else {})
        assert response.status_code in (302, 401), (method, path, response.status_code)
        where = response.headers.get("HX-Redirect") or response.headers.get("Location") or ""
        assert "/login" in where, (method, path, response.status_code, where)  # sent to sign in, nowhere else
