"""Server-side sessions: a new one at every sign-in, ended for good by sign-out, deactivation and password changes."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import time_machine
from sqlalchemy import delete, update

from app.extensions import db
from app.models import UserSession
from app.services import people as people_service
from app.services.sessions import TOUCH_INTERVAL
from tests.conftest import login
from tests.integration.security.conftest import cookie_contents, cookie_value, replay, session_row_id


def _signed_in(client) -> bool:
    return client.get("/tickets").status_code == 200


def _redirected_to_login(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_sign_in_starts_a_new_server_side_session(app, acme, sessions_of):
    client = app.test_client()
    client.get("/tickets")  # anonymous: the redirect leaves a session cookie (flash, next)
    before = cookie_value(client)
    assert before is not None
    assert "sid" not in cookie_contents(app, client)

    assert login(client, acme.agent).status_code == 302
    first = session_row_id(app, client)
    assert first is not None and cookie_value(client) != before
    rows = sessions_of(acme.agent)
    assert [r.id for r in rows] == [first] and rows[0].revoked_at is None
    assert rows[0].tenant_id == acme.tenant.id and rows[0].ip == "127.0.0.1"
    # The pre-sign-in cookie never authenticates (no fixation): another browser holding it is anonymous.
    assert _redirected_to_login(replay(app, before).get("/tickets"))

    client.post("/logout")
    login(client, acme.agent)
    second = session_row_id(app, client)
    assert second not in (None, first)
    rows = {r.id: r for r in sessions_of(acme.agent)}
    assert rows[first].revoked_at is not None and rows[second].revoked_at is None
    # Neither the row id (a hash) nor anything else in the cookie is the row's key in the clear.
    assert first not in cookie_value(client)


def test_session_cookie_is_permanent_with_the_configured_lifetime(app, acme):
    client = app.test_client()
    response = login(client, acme.agent)
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Expires=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert app.permanent_session_lifetime == timedelta(hours=app.config["SESSION_LIFETIME_HOURS"]) == timedelta(hours=12)
    assert cookie_contents(app, client).get("_permanent") is True


def test_replaying_the_cookie_after_sign_out_is_refused(app, acme, agent_client):
    cookie = cookie_value(agent_client)
    assert _signed_in(replay(app, cookie))  # a copied cookie works while the session lives...
    assert agent_client.post("/logout").status_code == 302
    # ...and not after sign-out, although it is still validly signed and names the user.
    stolen = replay(app, cookie)
    assert _redirected_to_login(stolen.get("/tickets"))
    assert _redirected_to_login(stolen.get("/admin/people"))
    htmx = stolen.get("/tickets?status=open", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/login")
    assert stolen.post("/logout").status_code == 302  # nothing to sign out of: just the sign-in page


def test_session_with_a_missing_or_expired_row_is_refused(app, acme, client_for, db_read):
    gone, stale = client_for(acme.agent), client_for(acme.lead)
    gone_id, stale_id = session_row_id(app, gone), session_row_id(app, stale)

    def change():
        db.session.execute(delete(UserSession).where(UserSession.id == gone_id))
        db.session.execute(update(UserSession).where(UserSession.id == stale_id)
                           .values(created_at=datetime.now(timezone.utc) - timedelta(hours=12, minutes=1)))
        db.session.commit()

    db_read(change)
    assert _redirected_to_login(gone.get("/tickets"))
    assert _redirected_to_login(stale.get("/tickets"))


def test_last_seen_is_written_at_most_once_a_minute(app, acme, agent_client, sessions_of, sql_counter):
    (row,) = sessions_of(acme.agent)
    start = row.last_seen_at
    with sql_counter() as statements:
        assert _signed_in(agent_client)
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE USER_SESSIONS")]
    assert sessions_of(acme.agent)[0].last_seen_at == start
    with time_machine.travel(datetime.now(timezone.utc) + TOUCH_INTERVAL + timedelta(seconds=5)):
        assert _signed_in(agent_client)
        (row,) = sessions_of(acme.agent)
        assert row.last_seen_at > start + TOUCH_INTERVAL


def test_a_session_lasts_its_lifetime_from_sign_in_however_busy(app, acme, agent_client):
    agent_client.get("/tickets")  # the first page after sign-in stores the new session's CSRF token
    for path in ("/tickets", "/tickets?status=open", "/tickets/new"):
        page = agent_client.get(path)
        assert page.status_code == 200
        assert "Set-Cookie" not in page.headers, path  # not re-sent (so never revived) by every answer
    now = datetime.now(timezone.utc)
    with time_machine.travel(now + timedelta(hours=6)):
        assert _signed_in(agent_client)
    with time_machine.travel(now + timedelta(hours=11, minutes=58)):
        assert _signed_in(agent_client)
    with time_machine.travel(now + timedelta(hours=12, minutes=1)):
        assert _redirected_to_login(agent_client.get("/tickets"))


def test_deactivation_ends_every_session_of_that_person_only(app, acme, admin_client, client_for, sessions_of):
    laptop, phone = client_for(acme.agent), client_for(acme.agent)
    lead = client_for(acme.lead)
    laptop_cookie = cookie_value(laptop)
    assert _signed_in(laptop) and _signed_in(phone) and _signed_in(lead)

    response = admin_client.post(f"/admin/people/{acme.agent.id}/active", data={"active": "0"})
    assert response.status_code == 302
    assert _redirected_to_login(laptop.get("/tickets")) and _redirected_to_login(phone.get("/tickets"))
    assert [r.revoked_at is not None for r in sessions_of(acme.agent)] == [True, True]
    assert _signed_in(lead) and _signed_in(admin_client)  # other people's sessions live on
    assert [r.revoked_at for r in sessions_of(acme.lead)] == [None]

    # Reactivation revives nothing: the rows stay revoked; a new sign-in is needed.
    admin_client.post(f"/admin/people/{acme.agent.id}/active", data={"active": "1"})
    assert _redirected_to_login(replay(app, laptop_cookie).get("/tickets"))
    assert _signed_in(client_for(acme.agent))


def test_password_change_ends_the_persons_sessions_but_not_their_api_tokens(
        app, acme, client_for, sessions_of, token_for, api_with):
    laptop, phone, lead = client_for(acme.agent), client_for(acme.agent), client_for(acme.lead)
    api = api_with(token_for(acme, acme.agent))
    assert api.get("/api/v1/tickets").status_code == 200

    with app.app_context(), acme.uow(acme.agent) as uow:  # the person changes their own password
        people_service.set_password(uow, acme.agent.id, "a-brand-new-password")
        uow.commit()

    assert _redirected_to_login(laptop.get("/tickets")) and _redirected_to_login(phone.get("/tickets"))
    assert all(r.revoked_at is not None for r in sessions_of(acme.agent))
    assert _signed_in(lead)
    assert api.get("/api/v1/tickets").status_code == 200  # integrations keep working
    assert login(app.test_client(), acme.agent).status_code == 422  # the old password is gone
    client = app.test_client()
    assert login(client, acme.agent, "a-brand-new-password").status_code == 302 and _signed_in(client)


def test_admin_password_reset_ends_the_persons_sessions(app, acme, client_for, sessions_of):
    agent, admin = client_for(acme.agent), client_for(acme.admin)
    with app.app_context(), acme.uow(acme.admin) as uow:
        people_service.set_password(uow, acme.agent.id, "reset-by-an-admin")
        uow.commit()
    assert _redirected_to_login(agent.get("/tickets"))
    assert _signed_in(admin)
    assert [r.revoked_at is None for r in sessions_of(acme.admin)] == [True]


def test_deactivated_user_cannot_use_api_tokens_either(app, acme, token_for, api_with):
    api = api_with(token_for(acme, acme.agent))
    with app.app_context(), acme.uow(acme.admin) as uow:
        people_service.set_active(uow, acme.agent.id, False)
        uow.commit()
    assert api.get("/api/v1/tickets").status_code == 401


def test_a_session_row_of_another_user_does_not_sign_in(app, acme, client_for):
    """The cookie's user id and the session row must agree: a key cannot be grafted onto another user id."""
    agent, lead = client_for(acme.agent), client_for(acme.lead)
    agent_session = cookie_contents(app, agent)
    lead_session = cookie_contents(app, lead)
    forged = dict(lead_session, sid=agent_session["sid"])
    value = app.session_interface.get_signing_serializer(app).dumps(forged)
    assert _redirected_to_login(replay(app, value).get("/tickets"))
