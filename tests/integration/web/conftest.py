"""Page clients signed in as different people, and small HTML helpers for page tests."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from tests.conftest import login

ROW_RE = re.compile(r'<tr id="ticket-(\d+)">.*?<td class="subject"><a href="/tickets/\d+">(.*?)</a>', re.S)


def queue_rows(html: str) -> list[tuple[int, str]]:
    """(number, subject) of each row of the queue table, in order."""
    return [(int(n), subject) for n, subject in ROW_RE.findall(html)]


def subjects(html: str) -> list[str]:
    return [s for _, s in queue_rows(html)]


@pytest.fixture
def client_for(app):
    """client_for(user) → a test client signed in as that user."""

    def build(user):
        client = app.test_client()
        response = login(client, user)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return build


@pytest.fixture
def lead_client(client_for, acme):
    return client_for(acme.lead)


@pytest.fixture
def globex_client(client_for, globex):
    return client_for(globex.agent)


@pytest.fixture
def globex_admin_client(client_for, globex):
    return client_for(globex.admin)


@pytest.fixture
def db_read(app):
    """db_read(fn) → fn() run in a fresh app context (a new session: what the database holds now)."""

    def run(fn):
        with app.app_context():
            try:
                return fn()
            finally:
                db.session.remove()

    return run
