"""Security headers on pages, API answers, static files and errors; HSTS and Secure cookies in production."""
from __future__ import annotations

import pytest

from app import create_app
from app.web.security import CONTENT_SECURITY_POLICY
from tests.conftest import PASSWORD

EXPECTED = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
                               "form-action 'self'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def assert_secure_headers(response, what):
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (what, name, response.headers.get(name))
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_policy_is_the_documented_one():
    assert CONTENT_SECURITY_POLICY == EXPECTED["Content-Security-Policy"]


def test_pages_carry_the_headers(app, acme, agent_client, admin_client):
    assert_secure_headers(app.test_client().get("/login"), "sign-in page")
    for path in ("/tickets", "/tickets/new", "/search?q=printer"):
        response = agent_client.get(path)
        assert response.status_code == 200, path
        assert_secure_headers(response, path)
        assert response.headers["Cache-Control"] == "no-store"  # private pages are not kept by browsers
    htmx = agent_client.get("/tickets?status=open", headers={"HX-Request": "true"})
    assert_secure_headers(htmx, "htmx fragment")
    assert_secure_headers(admin_client.get("/admin/people"), "people")
    assert_secure_headers(app.test_client().get("/api/v1/docs"), "swagger ui")
    static = app.test_client().get("/static/css/app.css")
    assert_secure_headers(static, "static file")
    assert static.headers.get("Cache-Control") != "no-store"
    static.close()


def test_api_answers_and_api_errors_carry_the_headers(app, acme, token_for, api_with):
    api = api_with(token_for(acme, acme.agent))
    assert_secure_headers(api.get("/api/v1/tickets"), "api list")
    assert_secure_headers(api.get("/api/v1/openapi.json"), "openapi")
    assert_secure_headers(api_with(None).get("/api/v1/tickets"), "api 401")
    assert_secure_headers(api.get("/api/v1/tickets/999"), "api 404")
    assert_secure_headers(api.post("/api/v1/tickets", json={}), "api 422")
    assert_secure_headers(api.get("/api/v1/no-such-thing"), "api unknown path")


def test_error_pages_carry_the_headers(app, acme, agent_client, monkeypatch):
    assert_secure_headers(agent_client.get("/tickets/999"), "404 page")
    assert_secure_headers(agent_client.get("/no-such-page"), "unknown path")
    assert_secure_headers(agent_client.get("/logout"), "405")
    assert_secure_headers(agent_client.get("/admin/people"), "403")
    throttled = app.test_client()
    for _ in range(6):
        last = throttled.post("/login", data={"email": acme.agent.email, "password": "wrong-password"})
    assert last.status_code == 429
    assert_secure_headers(last, "429")

    def boom():
        raise RuntimeError("unexpected")

    monkeypatch.setitem(app.view_functions, "tickets.new", boom)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = agent_client.get("/tickets/new")
    assert response.status_code == 500
    assert_secure_headers(response, "500 page")


def test_no_hsts_outside_production(app):
    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers


def _app(tmp_path, monkeypatch, **env):
    for name in ("TICKETRY_ENV", "SESSION_COOKIE_SECURE", "HSTS_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'config.db'}",
        "HUEY_IMMEDIATE": True,
        "HUEY_SQLITE_PATH": str(tmp_path / "huey.db"),
        "REDIS_URL": "",
    })


def _session_cookie(response) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))


def test_production_sends_hsts_and_secure_cookies(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch, TICKETRY_ENV="production")
    response = app.test_client().get("/login")  # CSRF is on: the token goes into the session cookie
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert_secure_headers(response, "production sign-in page")
    cookie = _session_cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Expires=" not in cookie  # only a signed-in session is permanent
    config = app.config
    assert config["SESSION_COOKIE_SECURE"] and config["SESSION_COOKIE_HTTPONLY"]
    assert config["REMEMBER_COOKIE_SECURE"] and config["REMEMBER_COOKIE_HTTPONLY"]
    assert config["REMEMBER_COOKIE_SAMESITE"] == config["SESSION_COOKIE_SAMESITE"] == "Lax"
    # CSRF tokens live in the (secure) session cookie: flask-wtf sets no cookie of its own.
    assert not [h for h in response.headers.getlist("Set-Cookie") if not h.startswith("session=")]


@pytest.mark.parametrize("env,hsts,secure", [
    ({"SESSION_COOKIE_SECURE": "1"}, False, True),  # HTTPS in development, say behind a local proxy
    ({"TICKETRY_ENV": "production", "HSTS_SECONDS": "0"}, False, True),
    ({"TICKETRY_ENV": "production", "SESSION_COOKIE_SECURE": "0"}, True, False),
])
def test_cookie_security_and_hsts_follow_their_settings(tmp_path, monkeypatch, env, hsts, secure):
    app = _app(tmp_path, monkeypatch, **env)
    response = app.test_client().get("/login")
    assert ("Strict-Transport-Security" in response.headers) is hsts
    assert ("Secure" in _session_cookie(response)) is secure
    assert app.config["REMEMBER_COOKIE_SECURE"] is secure


def test_signed_in_cookie_in_production_is_secure_and_permanent(tmp_path, monkeypatch):
    """A whole sign-in on the production configuration (CSRF on), on its own migrated database."""
    from flask_migrate import upgrade

    from app.extensions import db
    from tests.conftest import make_workspace

    app = _app(tmp_path, monkeypatch, TICKETRY_ENV="production")
    with app.app_context():
        upgrade(revision="heads")
        ws = make_workspace("prod", "Prod")
        db.session.remove()
    client = app.test_client()
    https = {"base_url": "https://localhost", "headers": {"Referer": "https://localhost/login"}}
    page = client.get("/login", **https).get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post("/login", data={"email": ws.agent.email, "password": PASSWORD, "csrf_token": token},
                           **https)
    assert response.status_code == 302, response.get_data(as_text=True)
    cookie = _session_cookie(response)
    assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Expires="))
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert client.get("/tickets", **https).status_code == 200
    with app.app_context():
        db.engine.dispose()


def test_a_header_the_view_set_is_kept(app):
    from flask import Response

    from app.web.security import add_security_headers

    with app.test_request_context("/tickets"):
        response = Response("x", headers={"content-security-policy": "default-src 'none'",
                                          "Cache-Control": "max-age=60"})
        headers = add_security_headers(response).headers
    assert headers.getlist("Content-Security-Policy") == ["default-src 'none'"]  # any case: the view's own
    assert headers.getlist("Cache-Control") == ["max-age=60"]
    assert headers["X-Frame-Options"] == "DENY" and len(headers.getlist("X-Frame-Options")) == 1
