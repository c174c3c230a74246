"""Sign-in throttling per account and per client address: audited, short, lifted by time, cleared by success."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from app.services import people
from app.services.throttling import Limits, delay_after
from tests.conftest import PASSWORD, make_workspace

THROTTLED = "Too many failed sign-in attempts."


def _client(app, ip="198.51.100.7"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def _post(client, email, password="wrong-password", **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def _fail(client, email, times):
    for _ in range(times):
        response = _post(client, email)
        assert response.status_code == 422, response.status_code


def _later(seconds: float):
    return time_machine.travel(datetime.now(timezone.utc) + timedelta(seconds=seconds), tick=True)


def _normalised(html: str, *emails: str) -> str:
    html = re.sub(r'(name="csrf_token"[^>]*value=")[^"]*', r"\1", html)
    html = re.sub(r'"X-CSRFToken": "[^"]*"', '"X-CSRFToken": ""', html)
    for email in emails:
        html = html.replace(email, "EMAIL")
    return html


def test_account_is_throttled_after_five_failures_and_the_refusal_is_audited(app, acme, audit_rows, attempts):
    client = _client(app)
    _fail(client, acme.agent.email, 5)
    refused = _post(client, acme.agent.email, PASSWORD)  # even the right password waits
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    html = refused.get_data(as_text=True)
    assert THROTTLED in html and "Wait a minute, then try again." in html
    assert "Email or password is incorrect." not in html
    assert client.get("/tickets").status_code == 302  # not signed in

    # Another browser, another address: the account itself is throttled, for everyone.
    assert _post(_client(app, "192.0.2.1"), acme.agent.email, PASSWORD).status_code == 429
    rows = audit_rows("LOGIN_THROTTLED")
    assert len(rows) == 1  # the first refusal of the lock, not one row per refused request
    tenant_id, entity_id, changes = rows[0]
    assert (tenant_id, entity_id) == (acme.tenant.id, str(acme.agent.id))
    assert changes == {"attempted_email": acme.agent.email, "scope": "account", "retry_after_seconds": 60}
    assert len(audit_rows("LOGIN_FAILED")) == 5  # refused attempts check no password: no failure rows
    assert len(attempts()) == 5


def test_throttle_is_lifted_after_the_delay_and_success_clears_the_account(app, acme, attempts):
    client = _client(app)
    _fail(client, acme.agent.email, 5)
    assert _post(client, acme.agent.email, PASSWORD).status_code == 429
    with _later(61):
        assert _post(client, acme.agent.email, PASSWORD).status_code == 302
        client.post("/logout")
        # Cleared: four new failures do not lock the account again (five would be needed).
        _fail(client, acme.agent.email, 4)
        assert _post(client, acme.agent.email, PASSWORD).status_code == 302
    assert [a.cleared_at is not None for a in attempts()] == [True] * 9


def test_delay_grows_with_further_failures_and_is_capped(app, acme):
    client = _client(app)
    _fail(client, acme.agent.email, 5)
    with _later(61):
        _fail(client, acme.agent.email, 1)  # the sixth failure: two minutes
        refused = _post(client, acme.agent.email, PASSWORD)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) in (119, 120)
        assert "Wait 2 minutes" in refused.get_data(as_text=True)
    with _later(61 + 90):
        assert _post(client, acme.agent.email, PASSWORD).status_code == 429
    with _later(61 + 125):
        assert _post(client, acme.agent.email, PASSWORD).status_code == 302

    limits = Limits()
    assert [delay_after(n, 5, limits) for n in (4, 5, 6, 7, 8, 9, 10, 500)] == [
        None, timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=8),
        timedelta(minutes=15), timedelta(minutes=15), timedelta(minutes=15)]


def test_unknown_email_is_throttled_exactly_like_a_known_one(app, acme, audit_rows):
    known, unknown = _client(app, "198.51.100.1"), _client(app, "198.51.100.2")
    _fail(known, acme.agent.email, 5)
    _fail(unknown, "nobody@acme.test", 5)
    known_page = _post(known, acme.agent.email, PASSWORD)
    unknown_page = _post(unknown, "nobody@acme.test", PASSWORD)
    assert known_page.status_code == unknown_page.status_code == 429
    assert known_page.headers["Retry-After"] == unknown_page.headers["Retry-After"]
    assert _normalised(known_page.get_data(as_text=True), acme.agent.email) == \
        _normalised(unknown_page.get_data(as_text=True), "nobody@acme.test")
    assert [changes["attempted_email"] for _, _, changes in audit_rows("LOGIN_THROTTLED")] == [acme.agent.email]


def test_email_is_counted_whatever_its_case_and_spaces(app, acme):
    client = _client(app)
    for email in ("Agent@acme.test", " agent@ACME.test", "AGENT@acme.test ", "agent@acme.test", "agent@Acme.Test"):
        assert _post(client, email).status_code == 422
    assert _post(client, acme.agent.email, PASSWORD).status_code == 429


def test_address_is_throttled_after_twenty_failures_across_emails(app, acme, audit_rows):
    spray = _client(app, "203.0.113.9")
    for i in range(20):
        assert _post(spray, f"guess{i % 5}@acme.test").status_code == 422  # four per email: no account lock
    refused = _post(spray, acme.agent.email, PASSWORD)
    assert refused.status_code == 429 and THROTTLED in refused.get_data(as_text=True)
    assert _post(spray, acme.lead.email, PASSWORD).status_code == 429
    rows = audit_rows("LOGIN_THROTTLED")
    assert len(rows) == 1 and rows[0][0] == acme.tenant.id
    assert rows[0][2]["scope"] == "ip" and rows[0][2]["attempted_email"] == acme.agent.email

    # Other addresses are not affected; the address may try again after the delay.
    assert _post(_client(app, "203.0.113.10"), acme.agent.email, PASSWORD).status_code == 302
    with _later(61):
        assert _post(spray, acme.agent.email, PASSWORD).status_code == 302


def test_a_success_does_not_clear_the_address_counter(app, acme):
    """A guesser with an account of their own cannot reset their address by signing in to it."""
    spray = _client(app, "203.0.113.20")
    for i in range(19):
        assert _post(spray, f"guess{i % 5}@acme.test").status_code == 422
    assert _post(spray, acme.lead.email, PASSWORD).status_code == 302
    spray.post("/logout")
    assert _post(spray, "guess4@acme.test").status_code == 422  # the twentieth failure
    assert _post(spray, acme.agent.email, PASSWORD).status_code == 429


def test_throttled_email_of_several_workspaces_is_audited_in_each(app, acme, audit_rows):
    with app.app_context():
        other = make_workspace("initech", "Initech")
        with other.uow(other.admin) as uow:
            twin = people.create_user(uow, email=acme.agent.email, name="Twin", password=PASSWORD + "-other")
            uow.commit()
    client = _client(app)
    _fail(client, acme.agent.email, 5)
    assert _post(client, acme.agent.email, PASSWORD).status_code == 429
    rows = {(tenant_id, entity_id) for tenant_id, entity_id, _ in audit_rows("LOGIN_THROTTLED")}
    assert rows == {(acme.tenant.id, str(acme.agent.id)), (other.tenant.id, str(twin.id))}


def test_old_attempts_are_pruned(app, acme, attempts):
    client = _client(app)
    _fail(client, acme.agent.email, 3)
    with _later(timedelta(days=1, minutes=1).total_seconds()):
        _fail(client, "someone@else.test", 1)
        assert [a.email for a in attempts()] == ["someone@else.test"]


@pytest.mark.parametrize("setting,value", [("LOGIN_THROTTLE_ACCOUNT_FAILURES", 2)])
def test_limits_come_from_the_configuration(app, acme, monkeypatch, setting, value):
    monkeypatch.setitem(app.config, setting, value)
    client = _client(app)
    _fail(client, acme.agent.email, 2)
    assert _post(client, acme.agent.email, PASSWORD).status_code == 429
