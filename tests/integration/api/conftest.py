"""API clients holding bearer tokens, made through the people service like an admin would."""
from __future__ import annotations

import pytest

from app.services import people
from tests.conftest import make_ticket


def make_token(app, ws, user) -> str:
    """A new API token for ``user``, created by the workspace's admin."""
    with app.app_context():
        with ws.uow(ws.admin) as uow:
            _, secret = people.create_token(uow, user.id, f"token of {user.email}")
            uow.commit()
    return secret


class ApiClient:
    """The Flask test client, sending one bearer token with every request."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.token = token

    def _headers(self, headers: dict | None) -> dict:
        base = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**base, **(headers or {})}

    def get(self, path, *, headers=None, **kwargs):
        return self.client.get(path, headers=self._headers(headers), **kwargs)

    def post(self, path, *, headers=None, **kwargs):
        return self.client.post(path, headers=self._headers(headers), **kwargs)

    def patch(self, path, *, headers=None, **kwargs):
        return self.client.patch(path, headers=self._headers(headers), **kwargs)


@pytest.fixture
def token_for(app):
    """token_for(ws, user) → a fresh API token of that user."""
    return lambda ws, user=None: make_token(app, ws, user or ws.agent)


@pytest.fixture
def api_with(app):
    """api_with(token) → an ApiClient sending that token (or none)."""
    return lambda token: ApiClient(app.test_client(), token)


@pytest.fixture
def api_for(token_for, api_with):
    """api_for(ws, user) → an ApiClient with a fresh token of that user (the agent by default)."""
    return lambda ws, user=None: api_with(token_for(ws, user))


@pytest.fixture
def acme_api(api_for, acme):
    return api_for(acme)


@pytest.fixture
def globex_api(api_for, globex):
    return api_for(globex)


@pytest.fixture
def tickets_in(app):
    """tickets_in(ws, n, **fields) → the numbers of n new tickets, made through the service."""

    def build(ws, n=1, **fields) -> list[int]:
        numbers = []
        with app.app_context():
            for i in range(n):
                values = {"subject": f"Ticket {i + 1} of {ws.tenant.slug}", **fields}
                numbers.append(make_ticket(ws, **values).number)
        return numbers

    return build


@pytest.fixture
def count_queries(sql_counter):
    """``with count_queries() as queries:`` — the SQL statements run inside the block."""
    return sql_counter
