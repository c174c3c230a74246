"""Sign-in, sign-out, deactivation, and what anonymous visitors get."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from app.extensions import db
from app.models import AuditLog
from app.services import people as people_service
from tests.conftest import PASSWORD, login, make_ticket


def _normalised(html: str, *values: str) -> str:
    """The page with per-request noise removed: CSRF tokens and the values typed in."""
    html = re.sub(r'(name="csrf_token"[^>]*value=")[^"]*', r"\1", html)
    html = re.sub(r'(value=")[^"]*("[^>]*name="csrf_token")', r"\1\2", html)
    html = re.sub(r'"X-CSRFToken": "[^"]*"', '"X-CSRFToken": ""', html)
    for value in values:
        html = html.replace(value, "EMAIL")
    return html


def test_login_success_lands_on_the_queue(app, acme):
    client = app.test_client()
    response = login(client, acme.agent)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/tickets")
    page = client.get("/tickets")
    assert page.status_code == 200
    assert acme.agent.name in page.get_data(as_text=True)


def test_login_email_is_case_insensitive(app, acme):
    client = app.test_client()
    response = client.post("/login", data={"email": acme.agent.email.upper(), "password": PASSWORD})
    assert response.status_code == 302


def test_login_failure_does_not_reveal_whether_the_email_exists(app, acme):
    client = app.test_client()
    unknown = client.post("/login", data={"email": "nobody@acme.test", "password": PASSWORD})
    wrong = client.post("/login", data={"email": acme.agent.email, "password": "wrong-password"})
    assert unknown.status_code == wrong.status_code == 422
    unknown_html, wrong_html = unknown.get_data(as_text=True), wrong.get_data(as_text=True)
    assert "Email or password is incorrect." in unknown_html
    assert _normalised(unknown_html, "nobody@acme.test") == _normalised(wrong_html, acme.agent.email)
    assert client.get("/tickets").status_code == 302  # still signed out


def test_login_failure_is_audited_for_a_known_email(app, acme, db_read):
    app.test_client().post("/login", data={"email": acme.agent.email, "password": "wrong-password"})
    rows = db_read(lambda: [(r.action, r.changes.get("reason"))
                            for r in db.session.scalars(select(AuditLog).where(AuditLog.action == "LOGIN_FAILED"))])
    assert rows == [("LOGIN_FAILED", "bad credentials")]


def test_deactivated_user_cannot_log_in(app, acme):
    with app.app_context(), acme.uow(acme.admin) as uow:
        people_service.set_active(uow, acme.agent.id, False)
        uow.commit()
    client = app.test_client()
    response = login(client, acme.agent)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Email or password is incorrect." in html  # no hint that the account exists but is off
    assert "deactivated" not in html.lower()
    assert client.get("/tickets").status_code == 302


def test_session_ends_when_the_user_is_deactivated(app, acme, agent_client, admin_client):
    assert agent_client.get("/tickets").status_code == 200
    response = admin_client.post(f"/admin/people/{acme.agent.id}/active", data={"active": "0"})
    assert response.status_code == 302
    response = agent_client.get("/tickets")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    # Reactivation does not revive the old session: the nonce was rotated.
    admin_client.post(f"/admin/people/{acme.agent.id}/active", data={"active": "1"})
    assert agent_client.get("/tickets").status_code == 302


def test_logout_is_a_post_and_ends_the_session(app, agent_client):
    assert agent_client.get("/logout").status_code == 405
    assert agent_client.get("/tickets").status_code == 200
    response = agent_client.post("/logout")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")
    assert agent_client.get("/tickets").status_code == 302
    assert "You are signed out." in agent_client.get("/login").get_data(as_text=True)


def test_login_redirects_to_a_safe_next_only(app, acme):
    client = app.test_client()
    response = client.post("/login?next=/tickets/new", data={"email": acme.agent.email, "password": PASSWORD,
                                                            "next": "/tickets/new"})
    assert response.headers["Location"].endswith("/tickets/new")
    for evil in ("//evil.test/x", "https://evil.test/", "/\\evil.test", "/\t/evil.test", "javascript:alert(1)",
                 "\\\\evil.test"):
        client = app.test_client()
        response = client.post("/login", data={"email": acme.agent.email, "password": PASSWORD, "next": evil})
        assert response.status_code == 302
        location = response.headers["Location"]
        # What a browser would make of it: tabs and newlines dropped, backslashes read as slashes.
        browser = re.sub(r"[\t\r\n]", "", location).replace("\\", "/")
        browser = re.sub(r"^https?://localhost", "", browser)
        assert browser.startswith("/") and not browser.startswith("//"), (evil, location)


def test_signed_in_user_visiting_login_goes_to_the_queue(agent_client):
    response = agent_client.get("/login")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/tickets")


ANONYMOUS_PAGES = [
    ("GET", "/tickets"), ("GET", "/tickets?status=open"), ("GET", "/tickets/new"), ("POST", "/tickets/new"),
    ("GET", "/tickets/1"), ("POST", "/tickets/1/fields"), ("POST", "/tickets/1/comments"),
    ("GET", "/admin/people"), ("POST", "/admin/people"), ("GET", "/admin/people/1"),
    ("POST", "/admin/people/1/role"), ("POST", "/admin/people/1/active"), ("POST", "/admin/people/1/tokens"),
    ("POST", "/admin/people/1/tokens/1/revoke"), ("POST", "/logout"), ("GET", "/"),
]


@pytest.mark.parametrize("method,path", ANONYMOUS_PAGES)
def test_anonymous_is_redirected_to_login(app, acme, method, path):
    with app.app_context():
        make_ticket(acme)
    response = app.test_client().open(path, method=method, data={"status": "open", "body": "hi"})
    assert response.status_code == 302, path
    assert re.match(r"^(http://localhost)?/login(\?|$)", response.headers["Location"]), response.headers["Location"]


def test_anonymous_redirect_keeps_where_they_were_going(app, acme):
    response = app.test_client().get("/tickets/new")
    assert "next=%2Ftickets%2Fnew" in response.headers["Location"]


@pytest.mark.parametrize("method,path", [("GET", "/tickets?status=open"), ("POST", "/tickets/1/fields"),
                                         ("POST", "/tickets/1/comments")])
def test_anonymous_htmx_request_gets_a_full_page_redirect(app, acme, method, path):
    """Not a 302 that htmx would follow and swap the sign-in page into the fragment's target."""
    headers = {"HX-Request": "true", "HX-Target": "ticket-results",
               "HX-Current-URL": "http://localhost/tickets/1?tab=x"}
    response = app.test_client().open(path, method=method, headers=headers, data={"status": "open"})
    assert response.status_code == 401
    assert "Location" not in response.headers
    assert response.get_data(as_text=True) == ""
    location = response.headers["HX-Redirect"]
    assert location.startswith("/login?next=")
    assert "next=%2Ftickets%2F1%3Ftab%3Dx" in location  # back to the page they were on, not the fragment URL


def test_expired_session_htmx_filter_gets_redirect(app, acme, agent_client, admin_client):
    admin_client.post(f"/admin/people/{acme.agent.id}/active", data={"active": "0"})
    response = agent_client.get("/tickets?status=open", headers={"HX-Request": "true", "HX-Target": "ticket-results"})
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")


def _page_rules(app):
    from app.web import BLUEPRINTS

    names = {bp.name for bp in BLUEPRINTS}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in names and rule.endpoint != "auth.login":
            values = {arg: 1 if isinstance(rule._converters[arg], IntegerConverter) else "x" for arg in rule.arguments}
            path = rule.build(values, append_unknown=False)[1]
            for method in sorted(rule.methods & {"GET", "POST", "PUT", "PATCH", "DELETE"}):
                yield method, path


def test_every_page_route_requires_sign_in(app, acme):
    """Every route of every page blueprint (today's and any added later) sends anonymous visitors to sign in."""
    with app.app_context():
        make_ticket(acme)
    checked = 0
    for method, path in _page_rules(app):
        response = app.test_client().open(path, method=method)
        assert response.status_code == 302, (method, path, response.status_code)
        assert re.match(r"^(http://localhost)?/login(\?|$)", response.headers["Location"]), (method, path)
        checked += 1
    assert checked >= len(ANONYMOUS_PAGES) - 2
