"""Clients of the audit page and API, and a look at the rows the database holds."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog
from app.services import people
from tests.conftest import login

ROW_ID_RE = re.compile(r'<tr id="audit-(\d+)">')


def page_row_ids(html: str) -> list[int]:
    """Audit row ids listed by the page, in order."""
    return [int(n) for n in ROW_ID_RE.findall(html)]


def text_of(html: str) -> str:
    """The page's text with tags removed and whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@pytest.fixture
def audit_rows(app):
    """audit_rows(ws, **where) → that tenant's rows now in the database, oldest first."""

    def read(ws, **where) -> list[AuditLog]:
        with app.app_context():
            stmt = select(AuditLog).where(AuditLog.tenant_id == ws.tenant.id)
            for name, value in where.items():
                stmt = stmt.where(getattr(AuditLog, name) == value)
            rows = list(db.session.scalars(stmt.order_by(AuditLog.seq)))
            db.session.remove()
            return rows

    return read


@pytest.fixture
def client_for(app):
    """client_for(user) → a test client signed in as that user."""

    def build(user):
        client = app.test_client()
        assert login(client, user).status_code == 302
        return client

    return build


class Api:
    """The test client sending one bearer token."""

    def __init__(self, client, token: str):
        self.client, self.token = client, token

    def get(self, path, *, headers=None, **kwargs):
        return self.client.get(path, headers={"Authorization": f"Bearer {self.token}", **(headers or {})}, **kwargs)

    def post(self, path, *, headers=None, **kwargs):
        return self.client.post(path, headers={"Authorization": f"Bearer {self.token}", **(headers or {})}, **kwargs)


@pytest.fixture
def api_as(app):
    """api_as(ws, user) → an Api client with a new token of that user (made by the workspace's admin)."""

    def build(ws, user) -> Api:
        with app.app_context():
            with ws.uow(ws.admin) as uow:
                _, secret = people.create_token(uow, user.id, f"audit tests {user.email}")
                uow.commit()
        return Api(app.test_client(), secret)

    return build
