"""With CSRF on (as in production), a POST without the token is refused and changes nothing."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import AuditLog, Comment, Ticket, User
from tests.conftest import PASSWORD, make_ticket


@pytest.fixture
def csrf_app(app):
    """A second app on the same database, with CSRF protection on."""
    # The job queue is process-wide: keep the suite's settings (inline jobs) when this app is built.
    queue = {k: app.config[k] for k in ("HUEY_IMMEDIATE", "HUEY_SQLITE_PATH", "REDIS_URL") if k in app.config}
    protected = create_app({
        **queue,
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "WTF_CSRF_ENABLED": True,
        "SERVER_NAME": None,
    })
    yield protected
    with protected.app_context():
        db.session.remove()
        db.engine.dispose()  # no connection left to block the table cleanup


def _token(html: str) -> str:
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*>', html)
    return re.search(r'value="([^"]+)"', match.group(0)).group(1)


def _footprint(app):
    with app.app_context():
        try:
            ticket = db.session.scalar(select(Ticket).where(Ticket.number == 1))
            counts = tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Comment, AuditLog, User))
            return (ticket.status, ticket.priority) if ticket else None, counts
        finally:
            db.session.remove()


def test_post_without_csrf_token_is_refused_with_400(app, acme, csrf_app):
    with app.app_context():
        make_ticket(acme)
    client = csrf_app.test_client()
    before = _footprint(app)

    # Signing in without the token is refused too: no session, no LOGIN audit row.
    refused = client.post("/login", data={"email": acme.agent.email, "password": PASSWORD})
    assert refused.status_code == 400
    assert "CSRF" in refused.get_data(as_text=True)
    assert client.get("/tickets").status_code == 302
    assert _footprint(app) == before

    login_page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"email": acme.agent.email, "password": PASSWORD,
                                           "csrf_token": _token(login_page)})
    assert response.status_code == 302
    page = client.get("/tickets/1").get_data(as_text=True)
    header_token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    before = _footprint(app)

    for path, data, headers in (
        ("/tickets/1/fields", {"status": "open", "priority": "urgent"}, {"HX-Request": "true"}),
        ("/tickets/1/fields", {"status": "open"}, {}),
        ("/tickets/1/comments", {"kind": "public", "body": "forged"}, {"HX-Request": "true"}),
        ("/tickets/1/fields", {"status": "open", "csrf_token": "forged-token"}, {}),
        ("/tickets/1/fields", {"status": "open"}, {"X-CSRFToken": "forged-token"}),
        ("/tickets/new", {"subject": "Forged", "description": "x", "requester_name": "x",
                          "requester_email": "x@example.com"}, {}),
        ("/logout", {}, {}),
    ):
        response = client.post(path, data=data, headers=headers)
        assert response.status_code == 400, (path, data, headers)
    assert _footprint(app) == before
    assert client.get("/tickets").status_code == 200  # logout without a token did not sign out

    # The same change with the token htmx sends (hx-headers on <body>) goes through.
    response = client.post("/tickets/1/fields", data={"status": "open"},
                           headers={"HX-Request": "true", "X-CSRFToken": header_token})
    assert response.status_code == 200
    assert _footprint(app)[0] == ("open", "normal")
