"""Helpers of the security tests: what a session cookie holds, session rows, audit rows, failed sign-ins."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, LoginAttempt, UserSession
from app.services.sessions import hash_key
from app.web.session import SESSION_KEY
from tests.integration.web.conftest import client_for, db_read  # noqa: F401  (fixtures)
from tests.integration.api.conftest import api_with, token_for  # noqa: F401  (fixtures)

COOKIE = "session"


def cookie_value(client) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie is not None else None


def cookie_contents(app, client) -> dict:
    """The Flask session a client's cookie carries (signed, not encrypted: readable to its owner)."""
    value = cookie_value(client)
    if value is None:
        return {}
    return app.session_interface.get_signing_serializer(app).loads(value)


def session_row_id(app, client) -> str | None:
    """The id (key hash) of the server-side session named in a client's cookie."""
    key = cookie_contents(app, client).get(SESSION_KEY)
    return hash_key(key) if key else None


def replay(app, cookie: str, ip: str = "127.0.0.1"):
    """A new client (another browser) sending a copied session cookie."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    client.set_cookie(COOKIE, cookie)
    return client


@pytest.fixture
def sessions_of(db_read):  # noqa: F811
    """sessions_of(user) → that user's session rows, oldest first."""

    def read(user):
        return db_read(lambda: list(db.session.scalars(
            select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.created_at))))

    return read


@pytest.fixture
def audit_rows(db_read):  # noqa: F811
    """audit_rows(action) → (tenant_id, entity_id, changes) of every audit row with that action."""

    def read(action):
        return db_read(lambda: [(r.tenant_id, r.entity_id, r.changes) for r in db.session.scalars(
            select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id))])

    return read


@pytest.fixture
def attempts(db_read):  # noqa: F811
    """attempts() → every failed sign-in row, oldest first."""
    return lambda: db_read(lambda: list(db.session.scalars(select(LoginAttempt).order_by(LoginAttempt.id))))
