"""Admins manage people and API tokens; other roles get 403."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ApiToken, User
from app.services.people import hash_token
from tests.conftest import login


def _user(db_read, user_id):
    return db_read(lambda: (lambda u: None if u is None else {"role": u.role, "active": u.active, "name": u.name})(
        db.session.get(User, user_id)))


def _users(db_read) -> int:
    return db_read(lambda: db.session.scalar(select(func.count()).select_from(User)))


def _tokens(db_read, user_id):
    return db_read(lambda: [(t.id, t.name, t.token_hash, t.prefix, t.revoked_at is not None)
                            for t in db.session.scalars(select(ApiToken).where(ApiToken.user_id == user_id))])


def _error(html, field):
    match = re.search(rf'<span class="error" id="{field}-error">(.*?)</span>', html, re.S)
    return match.group(1) if match else ""


def test_people_page_lists_the_workspace(admin_client, acme, globex):
    html = admin_client.get("/admin/people").get_data(as_text=True)
    for user in (acme.admin, acme.lead, acme.agent):
        assert user.email in html
    assert globex.agent.email not in html
    assert "3 people" in html


def test_add_person(app, admin_client, db_read):
    response = admin_client.post("/admin/people", data={"name": "New Agent", "email": "New@Acme.test",
                                                        "role": "lead", "password": "long-enough-pw"})
    assert response.status_code == 302
    assert "New Agent can now sign in." in admin_client.get("/admin/people").get_data(as_text=True)
    created = db_read(lambda: db.session.scalar(select(User).where(User.email == "New@acme.test")))
    assert created is not None and created.role == "lead" and created.active
    client = app.test_client()
    assert client.post("/login", data={"email": "new@acme.test", "password": "long-enough-pw"}).status_code == 302


@pytest.mark.parametrize("data,field,message", [
    ({"email": "agent@acme.test"}, "email", "already uses this email"),
    ({"email": "AGENT@acme.test"}, "email", "already uses this email"),
    ({"password": "short"}, "password", "10"),
    ({"email": "not-an-email"}, "email", "Not a valid email address."),
    ({"name": ""}, "name", "required"),
])
def test_add_person_inline_errors(admin_client, db_read, data, field, message):
    before = _users(db_read)
    values = {"name": "Someone", "email": "someone@acme.test", "role": "agent", "password": "long-enough-pw", **data}
    response = admin_client.post("/admin/people", data=values)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in _error(html, field)
    assert _users(db_read) == before
    password_input = re.search(r'<input[^>]*name="password"[^>]*>', html).group(0)
    assert not re.search(r'value="[^"]', password_input)  # a password is never sent back


def test_role_change(admin_client, acme, db_read):
    response = admin_client.post(f"/admin/people/{acme.agent.id}/role", data={"role": "lead"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/people/{acme.agent.id}")
    assert _user(db_read, acme.agent.id)["role"] == "lead"
    assert "Role updated." in admin_client.get(f"/admin/people/{acme.agent.id}").get_data(as_text=True)


def test_role_change_to_unknown_role_changes_nothing(admin_client, acme, db_read):
    admin_client.post(f"/admin/people/{acme.agent.id}/role", data={"role": "owner"})
    assert _user(db_read, acme.agent.id)["role"] == "agent"


def test_last_admin_keeps_the_role(admin_client, acme, db_read):
    admin_client.post(f"/admin/people/{acme.admin.id}/role", data={"role": "agent"})
    assert _user(db_read, acme.admin.id)["role"] == "admin"
    html = admin_client.get(f"/admin/people/{acme.admin.id}").get_data(as_text=True)
    assert "at least one active admin" in html


def test_deactivate_and_reactivate(admin_client, acme, db_read):
    response = admin_client.post(f"/admin/people/{acme.lead.id}/active", data={"active": "0"})
    assert response.status_code == 302
    assert _user(db_read, acme.lead.id)["active"] is False
    html = admin_client.get(f"/admin/people/{acme.lead.id}").get_data(as_text=True)
    assert "Deactivated" in html and "Reactivate" in html
    admin_client.post(f"/admin/people/{acme.lead.id}/active", data={"active": "1"})
    assert _user(db_read, acme.lead.id)["active"] is True


def test_admin_cannot_deactivate_themselves(admin_client, acme, db_read):
    admin_client.post(f"/admin/people/{acme.admin.id}/active", data={"active": "0"})
    assert _user(db_read, acme.admin.id)["active"] is True
    assert admin_client.get("/tickets").status_code == 200


def test_token_is_shown_once(admin_client, acme, db_read):
    response = admin_client.post(f"/admin/people/{acme.agent.id}/tokens", data={"name": "CRM sync"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    secret = re.search(r'<p class="secret" id="new-token">(tkt_[A-Za-z0-9_\-]+)</p>', html).group(1)
    tokens = _tokens(db_read, acme.agent.id)
    assert len(tokens) == 1
    _, name, token_hash, prefix, revoked = tokens[0]
    assert (name, revoked) == ("CRM sync", False)
    assert token_hash == hash_token(secret) and secret.startswith(prefix)
    # Never again: not on the next page view, not in the cookie.
    later = admin_client.get(f"/admin/people/{acme.agent.id}")
    later_html = later.get_data(as_text=True)
    assert secret not in later_html and 'id="new-token"' not in later_html
    assert f"{prefix}…" in later_html
    assert "Set-Cookie" not in response.headers or secret not in response.headers.get("Set-Cookie", "")
    assert secret not in admin_client.get("/admin/people").get_data(as_text=True)


def test_token_without_a_name_is_422(admin_client, acme, db_read):
    response = admin_client.post(f"/admin/people/{acme.agent.id}/tokens", data={"name": ""})
    assert response.status_code == 422
    assert _tokens(db_read, acme.agent.id) == []


def test_revoke_token(admin_client, acme, db_read):
    admin_client.post(f"/admin/people/{acme.agent.id}/tokens", data={"name": "Old"})
    token_id = _tokens(db_read, acme.agent.id)[0][0]
    response = admin_client.post(f"/admin/people/{acme.agent.id}/tokens/{token_id}/revoke")
    assert response.status_code == 302
    assert _tokens(db_read, acme.agent.id)[0][4] is True
    html = admin_client.get(f"/admin/people/{acme.agent.id}").get_data(as_text=True)
    assert "Token revoked." in html
    row = re.search(rf'<tr id="token-{token_id}">(.*?)</tr>', html, re.S).group(1)
    assert "Revoked" in row and "<form" not in row


def test_no_token_for_a_deactivated_person(admin_client, acme, db_read):
    admin_client.post(f"/admin/people/{acme.agent.id}/active", data={"active": "0"})
    response = admin_client.post(f"/admin/people/{acme.agent.id}/tokens", data={"name": "x"})
    assert response.status_code == 302
    assert _tokens(db_read, acme.agent.id) == []


@pytest.mark.parametrize("role", ["agent", "lead"])
def test_other_roles_get_403(app, acme, db_read, role):
    client = app.test_client()
    login(client, getattr(acme, role))
    target = acme.agent if role == "lead" else acme.lead
    assert client.get("/admin/people").status_code == 403
    assert client.get(f"/admin/people/{target.id}").status_code == 403
    before = _users(db_read)
    attempts = [
        ("/admin/people", {"name": "X", "email": "x@acme.test", "role": "admin", "password": "long-enough-pw"}),
        (f"/admin/people/{target.id}/role", {"role": "admin"}),
        (f"/admin/people/{target.id}/active", {"active": "0"}),
        (f"/admin/people/{target.id}/tokens", {"name": "stolen"}),
        (f"/admin/people/{acme.admin.id}/role", {"role": "agent"}),
    ]
    for path, data in attempts:
        assert client.post(path, data=data).status_code == 403, path
    assert _users(db_read) == before
    assert _user(db_read, target.id) == {"role": target.role, "active": True, "name": target.name}
    assert _user(db_read, acme.admin.id)["role"] == "admin"
    assert _tokens(db_read, target.id) == []
    # The navigation does not offer the page either.
    assert 'href="/admin/people"' not in client.get("/tickets").get_data(as_text=True)


def test_unknown_person_is_404(admin_client, acme, db_read):
    assert admin_client.get("/admin/people/999999").status_code == 404
    for path, data in (("/admin/people/999999/role", {"role": "lead"}), ("/admin/people/999999/active", {"active": "0"}),
                       ("/admin/people/999999/tokens", {"name": "x"}),
                       (f"/admin/people/{acme.agent.id}/tokens/999999/revoke", {})):
        assert admin_client.post(path, data=data).status_code == 404, path
