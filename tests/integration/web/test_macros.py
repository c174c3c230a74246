"""Macro pages (/settings/macros) by role, their inline errors and CSRF; inserting a macro on the ticket page
(htmx fragment and the plain form), and sending a reply that carries a macro."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app import create_app
from app.extensions import db
from app.models import Comment, Ticket
from app.models.macros import Macro
from app.services import macros as macro_service
from tests.conftest import make_ticket

HX = {"HX-Request": "true"}
VALID = {"name": "Waiting on you", "body": "Hi {{requester.name}}, about #{{ticket.number}}: what model?",
         "set_status": "pending", "add_tags": "waiting"}


def _make_macro(app, ws, **values):
    with app.app_context():
        with ws.uow(ws.lead) as uow:
            macro = macro_service.create_macro(uow, {**VALID, **values})
            uow.commit()
        return macro.id


def _macros(db_read, ws):
    return db_read(lambda: [(m.name, m.body, m.set_status, m.tags) for m in db.session.scalars(
        select(Macro).where(Macro.tenant_id == ws.tenant.id).order_by(Macro.id))])


def _ticket(db_read, ws, number=1):
    def load():
        t = db.session.scalar(select(Ticket).where(Ticket.tenant_id == ws.tenant.id, Ticket.number == number)
                              .options(selectinload(Ticket.tag_rows)))
        return t.status, t.tags
    return db_read(load)


def _comments(db_read):
    return db_read(lambda: db.session.scalar(select(func.count()).select_from(Comment)))


# -- management pages -----------------------------------------------------------------------------
def test_agents_get_403_on_every_management_page(app, acme, agent_client, db_read):
    macro_id = _make_macro(app, acme)
    for method, path in (("GET", "/settings/macros"), ("GET", "/settings/macros/new"),
                         ("POST", "/settings/macros/new"), ("GET", f"/settings/macros/{macro_id}"),
                         ("POST", f"/settings/macros/{macro_id}"), ("POST", f"/settings/macros/{macro_id}/delete")):
        response = agent_client.open(path, method=method, data={**VALID, "name": "Agent's"})
        assert response.status_code == 403, (method, path)
    assert [m[0] for m in _macros(db_read, acme)] == ["Waiting on you"]


@pytest.mark.parametrize("role", ["lead", "admin"])
def test_leads_and_admins_create_edit_and_delete(app, acme, client_for, db_read, role):
    client = client_for(getattr(acme, role))
    assert "No macros yet" in client.get("/settings/macros").get_data(as_text=True)
    response = client.post("/settings/macros/new", data=VALID)
    assert response.status_code == 302 and response.headers["Location"].endswith("/settings/macros")
    page = client.get("/settings/macros").get_data(as_text=True)
    assert "Macro Waiting on you created." in page and "Status → Pending" in page
    [(name, body, status, tags)] = _macros(db_read, acme)
    assert (name, status, tags) == ("Waiting on you", "pending", ["waiting"])
    macro_id = db_read(lambda: db.session.scalar(select(Macro.id)))

    form = client.get(f"/settings/macros/{macro_id}").get_data(as_text=True)
    assert 'value="Waiting on you"' in form and '<option selected value="pending">' in form
    assert client.post(f"/settings/macros/{macro_id}", data={**VALID, "name": "Renamed", "set_status": "",
                                                             "add_tags": ""}).status_code == 302
    assert _macros(db_read, acme)[0][0::2] == ("Renamed", None)
    assert client.post(f"/settings/macros/{macro_id}/delete").status_code == 302
    assert _macros(db_read, acme) == []


def test_inline_errors_keep_the_input_and_save_nothing(app, acme, lead_client, db_read):
    response = lead_client.post("/settings/macros/new", data={"name": "", "body": "Hi {{requester.phone}}",
                                                              "set_status": "closed", "add_tags": "bad tag!"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for field in ("name", "body", "set_status", "add_tags"):
        assert re.search(rf'<span class="error" id="{field}-error">', html), field
    assert "Unknown placeholder {{requester.phone}}" in html
    for field in ("name", "body", "set_status", "add_tags"):  # each field says it is invalid, for screen readers
        tag = re.search(rf'<(?:input|textarea|select)[^>]*\bname="{field}"[^>]*>', html).group(0)
        assert 'aria-invalid="true"' in tag and f"{field}-error" in tag, tag
    assert "Hi {{requester.phone}}</textarea>" in html  # the draft is kept
    assert _macros(db_read, acme) == []


def test_duplicate_name_is_an_inline_error_on_edit(app, acme, lead_client, db_read):
    _make_macro(app, acme)
    other = _make_macro(app, acme, name="Other")
    response = lead_client.post(f"/settings/macros/{other}", data={**VALID})
    assert response.status_code == 422
    assert "Another macro already has this name." in response.get_data(as_text=True)


def test_another_tenants_macro_is_404_on_every_page(app, acme, globex, lead_client, db_read):
    theirs = _make_macro(app, globex)
    with app.app_context():
        make_ticket(acme)
    for method, path in (("GET", f"/settings/macros/{theirs}"), ("POST", f"/settings/macros/{theirs}"),
                         ("POST", f"/settings/macros/{theirs}/delete")):
        assert lead_client.open(path, method=method, data=VALID).status_code == 404, (method, path)
    assert lead_client.get(f"/tickets/1/macro?macro={theirs}", headers=HX).status_code == 404
    assert lead_client.post("/tickets/1/comments", headers=HX, data={"kind": "public", "body": "Hi",
                                                                     "macro_id": str(theirs)}).status_code == 404
    assert _comments(db_read) == 0 and _ticket(db_read, acme) == ("new", [])
    assert _macros(db_read, globex)[0][0] == "Waiting on you"


def test_macro_pages_refuse_posts_without_csrf(app, acme, db_read):
    queue = {k: app.config[k] for k in ("HUEY_IMMEDIATE", "HUEY_SQLITE_PATH", "REDIS_URL") if k in app.config}
    protected = create_app({**queue, "TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                            "WTF_CSRF_ENABLED": True, "SERVER_NAME": None})
    try:
        client = protected.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        from tests.conftest import PASSWORD
        assert client.post("/login", data={"email": acme.lead.email, "password": PASSWORD,
                                           "csrf_token": token}).status_code == 302
        assert client.post("/settings/macros/new", data=VALID).status_code == 400
        form = client.get("/settings/macros/new").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
        assert client.post("/settings/macros/new", data={**VALID, "csrf_token": token}).status_code == 302
        assert [m[0] for m in _macros(db_read, acme)] == ["Waiting on you"]
    finally:
        with protected.app_context():
            db.session.remove()
            db.engine.dispose()


# -- on the ticket page ------------------------------------------------------------------------------
def test_ticket_page_offers_the_tenants_macros(app, acme, globex, agent_client):
    _make_macro(app, acme)
    _make_macro(app, globex, name="Globex only")
    with app.app_context():
        make_ticket(acme)
    html = agent_client.get("/tickets/1").get_data(as_text=True)
    assert '<label for="macro-select">Canned reply</label>' in html
    assert "Waiting on you</option>" in html and "Globex only" not in html
    # Labelled, and fields without errors are not announced as invalid.
    assert re.search(r'<label for="body">Message</label>', html)
    assert '="None"' not in html


def test_insert_answers_the_rendered_text_escaped(app, acme, agent_client):
    macro_id = _make_macro(app, acme)
    with app.app_context():
        make_ticket(acme, requester_name='<b onmouseover="x()">Pat</b>')
    response = agent_client.get(f"/tickets/1/macro?macro={macro_id}", headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'data-macro-id="{macro_id}"' in html
    assert ('<textarea class="macro-text" hidden readonly aria-hidden="true" tabindex="-1">'
            'Hi &lt;b onmouseover=&#34;x()&#34;&gt;Pat&lt;/b&gt;, about #1: what model?</textarea>') in html
    assert "<b onmouseover" not in html
    assert "status becomes Pending" in html and "tags added: waiting" in html


def test_insert_without_htmx_fills_the_reply_box(app, acme, agent_client):
    macro_id = _make_macro(app, acme)
    with app.app_context():
        make_ticket(acme)
    response = agent_client.get(f"/tickets/1/macro?macro={macro_id}")
    assert response.status_code == 302
    page = agent_client.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(r'<textarea[^>]*name="body"[^>]*>\s*Hi Pat Customer, about #1: what model\?</textarea>', page)
    assert f'name="macro_id" id="reply-macro-id" value="{macro_id}"' in page


def test_insert_without_a_choice_is_422(app, acme, agent_client):
    with app.app_context():
        make_ticket(acme)
    response = agent_client.get("/tickets/1/macro?macro=", headers=HX)
    assert response.status_code == 422 and "Choose a macro first." in response.get_data(as_text=True)


def test_reply_with_a_macro_applies_its_actions(app, acme, agent_client, db_read):
    macro_id = _make_macro(app, acme)
    with app.app_context():
        make_ticket(acme, tags="printer")
    response = agent_client.post("/tickets/1/comments", headers=HX, data={
        "kind": "public", "body": "Edited: which model?", "macro_id": str(macro_id), "seen_comment_id": "0"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<span class="badge status-pending" id="ticket-status">' in html
    assert 'name="macro_id" id="reply-macro-id" value=""' in html  # the fresh reply box carries no macro
    assert _ticket(db_read, acme) == ("pending", ["printer", "waiting"])
    assert _comments(db_read) == 1
