"""Bearer tokens: 401 without a usable token, 403 below the role, no CSRF for the API."""
from __future__ import annotations

import pytest
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import Forbidden

from app.api.auth import api_user, authenticate
from app.extensions import db
from app.services import people

ENDPOINTS = [
    ("get", "/api/v1/tickets"),
    ("post", "/api/v1/tickets"),
    ("get", "/api/v1/tickets/1"),
    ("patch", "/api/v1/tickets/1"),
    ("get", "/api/v1/tickets/1/comments"),
    ("post", "/api/v1/tickets/1/comments"),
    ("get", "/api/v1/users"),
]


def assert_401(response):
    assert response.status_code == 401
    assert response.is_json
    assert response.json["code"] == 401
    assert response.json["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("method,path", ENDPOINTS)
def test_every_endpoint_needs_a_token(app, acme, tickets_in, method, path):
    tickets_in(acme, 1)
    response = getattr(app.test_client(), method)(path, json={})
    assert_401(response)


@pytest.mark.parametrize("header", [
    "Bearer tkt_not-a-real-token",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    "tkt_no_scheme",
])
def test_bad_authorization_headers_are_401(app, acme, header):
    response = app.test_client().get("/api/v1/tickets", headers={"Authorization": header})
    assert_401(response)


def test_scheme_is_case_insensitive(app, acme, token_for):
    secret = token_for(acme)
    response = app.test_client().get("/api/v1/tickets", headers={"Authorization": f"bearer {secret}"})
    assert response.status_code == 200


def test_401_comes_before_input_validation(app, acme):
    response = app.test_client().get("/api/v1/tickets?limit=1000", headers={"Authorization": "Bearer nope"})
    assert_401(response)


def test_revoked_token_is_401(app, acme, api_for):
    client = api_for(acme)
    assert client.get("/api/v1/tickets").status_code == 200
    with app.app_context():
        with acme.uow(acme.admin) as uow:
            token = uow.tokens.for_user(acme.agent.id)[0]
            people.revoke_token(uow, token.id)
            uow.commit()
    assert_401(client.get("/api/v1/tickets"))


def test_deactivated_users_token_is_401(app, acme, api_for):
    client = api_for(acme)
    assert client.get("/api/v1/users").status_code == 200
    with app.app_context():
        with acme.uow(acme.admin) as uow:
            people.set_active(uow, acme.agent.id, False)
            uow.commit()
    assert_401(client.get("/api/v1/users"))
    assert_401(client.post("/api/v1/tickets", json={"subject": "x"}))


@pytest.mark.parametrize("role", ["agent", "lead", "admin"])
def test_every_role_may_use_the_api(app, acme, api_for, tickets_in, role):
    number = tickets_in(acme, 1)[0]
    client = api_for(acme, getattr(acme, role))
    assert client.get("/api/v1/tickets").status_code == 200
    assert client.get(f"/api/v1/tickets/{number}").status_code == 200
    assert client.get("/api/v1/users").status_code == 200
    assert client.post(f"/api/v1/tickets/{number}/comments", json={"body": "hi", "public": False}).status_code == 201


def test_session_cookie_is_not_enough(app, agent_client):
    """The API takes bearer tokens only; a signed-in browser session is not a token."""
    assert_401(agent_client.get("/api/v1/tickets"))


def test_role_below_the_blueprints_role_is_403(app, acme, token_for):
    """authenticate(role) is the check every TokenBlueprint runs; a lead-only API refuses agents."""
    agent_secret = token_for(acme, acme.agent)
    lead_secret = token_for(acme, acme.lead)
    with app.test_request_context("/api/v1/tickets", headers={"Authorization": f"Bearer {agent_secret}"}):
        with pytest.raises(Forbidden) as raised:
            authenticate("lead")
        assert raised.value.code == 403
        db.session.remove()
    with app.test_request_context("/api/v1/tickets", headers={"Authorization": f"Bearer {lead_secret}"}):
        authenticate("lead")
        assert api_user().id == acme.lead.id
        db.session.remove()


def test_api_is_exempt_from_csrf(app, acme_api):
    """Forms need a CSRF token; API writes authenticate with the bearer token alone."""
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = acme_api.post("/api/v1/tickets", json={
            "subject": "No CSRF here", "description": "Sent by a script.",
            "requester": {"name": "Sam", "email": "sam@example.com"},
        })
        with app.test_request_context("/login", method="POST"):  # the control: CSRF is really on for pages
            with pytest.raises(CSRFError):
                app.preprocess_request()
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 201, response.json


def test_token_use_is_recorded(app, acme, api_for):
    api_for(acme).get("/api/v1/tickets")
    with app.app_context():
        with acme.uow(acme.admin) as uow:
            assert uow.tokens.for_user(acme.agent.id)[0].last_used_at is not None


def test_changes_are_audited_as_the_token(app, acme, api_for):
    from sqlalchemy import select

    from app.models import ApiToken, AuditLog

    client = api_for(acme, acme.lead)
    response = client.post("/api/v1/tickets", json={
        "subject": "Audited", "description": "d", "requester": {"name": "R", "email": "r@example.com"},
    }, headers={"X-Request-ID": "req-123"})
    assert response.status_code == 201
    with app.app_context():
        row = db.session.scalars(select(AuditLog).where(AuditLog.action == "CREATE",
                                                        AuditLog.entity_type == "Ticket")).one()
        token = db.session.get(ApiToken, row.actor_id)
        assert (row.actor_type, row.tenant_id, row.request_id) == ("token", acme.tenant.id, "req-123")
        assert token.user_id == acme.lead.id
        assert row.actor_label.startswith("lead@acme.test (token tkt_")
