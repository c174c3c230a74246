"""Security headers on every response: pages, API, static files and error pages.

The Content-Security-Policy allows scripts, styles, fonts and fetches from the app
itself only: no inline ``<script>``, no ``on*=`` attributes, no ``style="..."``
attributes (page behaviour lives in static/js, styles in static/css). Images may
also be ``data:`` URIs. Nothing may frame the app.

HSTS is sent when HSTS_SECONDS > 0 (by default in production only, where the
session, remember-me and CSRF cookies are also Secure, HttpOnly and SameSite —
CSRF tokens live in the session cookie, there is no separate CSRF cookie).
Responses of signed-in sessions are not stored by browsers or proxies
(``Cache-Control: no-store``) unless the view chose its own caching.

Logs never carry secrets read from the database: SQLAlchemy logs every result row
at DEBUG (webhook signing secrets, password and token hashes), so those records
are dropped; statements still log, their parameters hidden (``hide_parameters``
in SQLALCHEMY_ENGINE_OPTIONS).
"""
from __future__ import annotations

import logging

from flask import Flask, Response, current_app, request, session

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "object-src 'none'",
))

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def add_security_headers(response: Response) -> Response:
    """Each header unless the view set its own (one pass over the response's headers, not one per header)."""
    headers = response.headers
    present = {name.lower() for name in headers.keys()}
    for name, value in HEADERS.items():
        if name.lower() not in present:
            headers.add(name, value)
    max_age = int(current_app.config.get("HSTS_SECONDS", 0) or 0)
    if max_age > 0 and "strict-transport-security" not in present:
        headers.add("Strict-Transport-Security", f"max-age={max_age}; includeSubDomains")
    if "cache-control" not in present and _signed_in_page(response):
        headers.add("Cache-Control", "no-store")
    return response


def _signed_in_page(response: Response) -> bool:
    """A response rendered for a signed-in session (not a static file): it may show private data."""
    if request.endpoint == "static":
        return False
    from app.web.session import SESSION_KEY

    return SESSION_KEY in session


class WithoutResultRows(logging.Filter):
    """Drops SQLAlchemy's DEBUG records (result rows and their columns) whatever the log level."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO


def keep_rows_out_of_logs() -> None:
    engine_logger = logging.getLogger("sqlalchemy.engine.Engine")
    if not any(isinstance(f, WithoutResultRows) for f in engine_logger.filters):
        engine_logger.addFilter(WithoutResultRows())


def register_security(app: Flask) -> None:
    app.after_request(add_security_headers)
    keep_rows_out_of_logs()
