"""Secrets never leak: not in logs (every logger, at DEBUG), audit rows, error pages or API answers.

A password, an API token, a webhook signing secret and a session key go through their
whole life (created, used, refused, revoked). The only responses allowed to carry a
token or a signing secret are the ones that create it.
"""
from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ApiToken, AuditLog, User, UserSession
from app.services import people
from app.web.session import SESSION_KEY
from tests.conftest import PASSWORD, login
from tests.integration.security.conftest import cookie_contents

NEW_PASSWORD = "Correct-Horse-Battery-9f3k2"
TYPO_PASSWORD = "Correct-Horse-Battery-typo"


@pytest.fixture
def every_log(caplog):
    """caplog at DEBUG for every logger, those that Alembic's fileConfig disabled or quietened included."""
    manager = logging.root.manager
    loggers = [logger for logger in list(manager.loggerDict.values()) if isinstance(logger, logging.Logger)]
    saved = [(logger, logger.disabled, logger.level) for logger in loggers]
    caplog.set_level(logging.DEBUG)
    silent = [logger for logger in loggers if not logger.propagate]
    for logger in loggers:
        logger.disabled = False
        logger.setLevel(logging.DEBUG)
    for logger in silent:
        logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        for logger in silent:
            logger.removeHandler(caplog.handler)
        for logger, disabled, level in saved:
            logger.disabled, logger.level = disabled, level


class Recorder:
    """Every response of the scenario, and which ones may carry which secret."""

    def __init__(self):
        self.responses: list[tuple[str, str]] = []
        self.allowed: dict[str, set[str]] = {}

    def __call__(self, label: str, response, *, may_carry: str | None = None):
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items() if k.lower() != "set-cookie")
        self.responses.append((label, headers + "\n\n" + response.get_data(as_text=True)))
        if may_carry:
            self.allowed.setdefault(may_carry, set()).add(label)
        return response


def _secret_from_page(html: str) -> str:
    return html.split('<p class="secret" id="new-token">')[1].split("</p>")[0].strip()


def test_secrets_stay_out_of_logs_audit_errors_and_answers(app, acme, admin_client, every_log, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    seen = Recorder()

    # A person is created with a password (and a failed attempt re-renders the form).
    seen("create person", admin_client.post("/admin/people", data={
        "name": "Sam Secret", "email": "sam@acme.test", "role": "admin", "password": NEW_PASSWORD}))
    seen("create person again", admin_client.post("/admin/people", data={
        "name": "Sam Twice", "email": "sam@acme.test", "role": "agent", "password": NEW_PASSWORD}))
    with app.app_context():
        sam = db.session.scalar(select(User).where(User.email == "sam@acme.test"))
        db.session.remove()

    # Sam signs in: a typo first, then the right password.
    browser = app.test_client()
    seen("failed sign-in", browser.post("/login", data={"email": "sam@acme.test", "password": TYPO_PASSWORD}))
    seen("sign-in", login(browser, sam, NEW_PASSWORD))
    session_key = cookie_contents(app, browser)[SESSION_KEY]
    seen("queue", browser.get("/tickets"))

    # Sam creates an API token for the agent: the page that creates it is the only one showing it.
    created = seen("create token", browser.post(f"/admin/people/{acme.agent.id}/tokens", data={"name": "ci"}),
                   may_carry="token")
    token = _secret_from_page(created.get_data(as_text=True))
    assert token.startswith("tkt_")
    seen("person page", browser.get(f"/admin/people/{acme.agent.id}"))
    api = {"Authorization": f"Bearer {token}"}
    seen("api list", app.test_client().get("/api/v1/tickets", headers=api))
    seen("api create", app.test_client().post("/api/v1/tickets", headers=api, json={
        "subject": "Printer", "description": "On fire", "requester": {"name": "Pat", "email": "pat@example.com"}}))
    seen("api 404", app.test_client().get("/api/v1/tickets/999", headers=api))
    seen("api 422", app.test_client().post("/api/v1/tickets", headers=api, json={"subject": ""}))
    seen("api users", app.test_client().get("/api/v1/users", headers=api))

    # A webhook endpoint (through the API, with an admin token) and a test delivery that fails.
    with app.app_context():
        with acme.uow(acme.admin) as uow:
            _, admin_token = people.create_token(uow, sam.id, "admin token")
            uow.commit()
    admin_api = {"Authorization": f"Bearer {admin_token}"}
    hook = seen("create webhook", app.test_client().post("/api/v1/webhooks", headers=admin_api, json={
        "url": "http://127.0.0.1:9/hook", "events": ["*"]}), may_carry="webhook")
    assert hook.status_code == 201, hook.get_data(as_text=True)
    webhook_secret, hook_id = hook.json["secret"], hook.json["id"]
    seen("webhook", app.test_client().get(f"/api/v1/webhooks/{hook_id}", headers=admin_api))
    seen("webhooks", app.test_client().get("/api/v1/webhooks", headers=admin_api))
    seen("webhook test", app.test_client().post(f"/api/v1/webhooks/{hook_id}/test", headers=admin_api))
    seen("deliveries", app.test_client().get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=admin_api))
    seen("webhook page", browser.get(f"/webhooks/{hook_id}"))
    seen("webhooks page", browser.get("/webhooks"))
    seen("audit page", browser.get("/audit"))
    seen("audit api", app.test_client().get("/api/v1/audit?limit=200", headers=admin_api))
    seen("audit csv", browser.get("/audit/export.csv"))

    # Revoked: the token is refused, and nobody echoes it back.
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "ci"))
        db.session.remove()
    seen("revoke token", browser.post(f"/admin/people/{acme.agent.id}/tokens/{token_id}/revoke"))
    refused = seen("revoked token", app.test_client().get("/api/v1/tickets", headers=api))
    assert refused.status_code == 401
    seen("malformed token", app.test_client().get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}x"}))
    seen("error page", browser.get("/tickets/424242"))
    seen("sign-out", browser.post("/logout"))
    seen("replayed", app.test_client().get("/tickets"))

    secrets = {"password": NEW_PASSWORD, "typo": TYPO_PASSWORD, "token": token, "admin token": admin_token,
               "webhook": webhook_secret, "session key": session_key, "fixture password": PASSWORD}
    with app.app_context():
        session_ids = set(db.session.scalars(select(UserSession.id)))
        audit = [json.dumps({"changes": r.changes, "actor": r.actor_label, "agent": r.user_agent,
                             "entity": r.entity_id}) for r in db.session.scalars(select(AuditLog))]
        db.session.remove()
    assert session_key not in session_ids  # stored hashed

    logs = [f"{r.name} {r.levelname} {r.getMessage()} {r.__dict__}" for r in every_log.records]
    assert any(r.name.startswith("sqlalchemy.engine") for r in every_log.records), "SQL logs were not captured"
    assert len(audit) > 10
    for name, secret in secrets.items():
        assert not [line for line in logs if secret in line], f"the {name} is in the logs"
        assert not [row for row in audit if secret in row], f"the {name} is in the audit log"
        carriers = {label for label, text in seen.responses if secret in text}
        assert carriers == seen.allowed.get(name, set()), f"the {name} is in: {sorted(carriers)}"
    assert seen.allowed == {"token": {"create token"}, "webhook": {"create webhook"}}
