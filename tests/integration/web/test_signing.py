"""Signing done once where the answer cannot differ (app/web/signing.py): a session's CSRF token signed once a
minute, the session cookie's serializer built once per set of secret keys. Tokens stay valid and per session."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import time_machine

from app.web import signing
from tests.conftest import PASSWORD, make_ticket
from tests.integration.web.test_csrf import _token, csrf_app  # noqa: F401  (the CSRF-on app fixture)

T0 = datetime(2026, 11, 26, 10, 0, 5, tzinfo=timezone.utc)


def _header_token(client, path: str = "/tickets") -> str:
    page = client.get(path)
    assert page.status_code == 200
    return re.search(r'"X-CSRFToken": "([^"]+)"', page.get_data(as_text=True)).group(1)


def _signed_in(app, user):
    client = app.test_client()
    assert client.post("/login", data={"email": user.email, "password": PASSWORD,
                                       "csrf_token": _token(client.get("/login").get_data(as_text=True))}
                       ).status_code == 302
    return client


def test_a_session_token_is_signed_once_a_minute_and_stays_valid(app, acme, csrf_app):  # noqa: F811
    signing.forget()
    with app.app_context():
        make_ticket(acme)
    with time_machine.travel(T0, tick=False):
        client = _signed_in(csrf_app, acme.agent)
        first = _header_token(client)
    with time_machine.travel(T0 + timedelta(seconds=40), tick=False):  # signed now, it would differ
        assert _header_token(client, "/tickets/1") == first  # another page, the same minute
        other = _header_token(_signed_in(csrf_app, acme.lead))
        assert other != first  # another session, its own token
        # Every form of the page carries the same token as the htmx header.
        page = client.get("/tickets").get_data(as_text=True)
        assert set(re.findall(r'name="csrf_token" value="([^"]+)"', page)) == {first}
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        later = _header_token(client)
        assert later != first  # a new minute, a newly signed token
        assert len(signing._tokens) == 1  # the last minute's are gone
        # Both the new token and the one signed a minute ago are accepted.
        for token in (first, later):
            response = client.post("/tickets/1/fields", data={"status": "open"},
                                   headers={"HX-Request": "true", "X-CSRFToken": token})
            assert response.status_code == 200, token
        # Another session's token is not this session's.
        assert client.post("/tickets/1/fields", data={"status": "pending"},
                           headers={"HX-Request": "true", "X-CSRFToken": other}).status_code == 400


def test_the_cookie_serializer_is_built_once_per_set_of_keys(app, acme, agent_client):
    interface = app.session_interface
    assert isinstance(interface, signing.KeptSerializerSessionInterface)
    first = interface.get_signing_serializer(app)
    assert interface.get_signing_serializer(app) is first
    assert agent_client.get("/tickets").status_code == 200  # the signed-in cookie still reads
    previous = app.secret_key
    try:
        app.secret_key = "another secret key"
        changed = interface.get_signing_serializer(app)
        assert changed is not first and changed.secret_keys[-1] == b"another secret key"
        assert agent_client.get("/tickets").status_code == 302  # signed with the old key: signed out
    finally:
        app.secret_key = previous


def test_a_nul_character_in_a_link_is_still_refused(agent_client):
    assert agent_client.get("/tickets?q=a%00b").status_code == 400
    assert agent_client.get("/tickets?q=ab").status_code == 200
