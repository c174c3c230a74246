"""Page blueprints, their shared filters, and the sign-in plumbing."""
from __future__ import annotations

from functools import partial

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

from app.web import audit, auth, jobs, notifications, people, search, sla, tickets, webhooks
from app.web import macros as macro_pages, ticket_live
from app.web import views as saved_views

BLUEPRINTS = (auth.bp, tickets.bp, people.bp, jobs.bp, audit.bp, webhooks.bp, search.bp, sla.bp, notifications.bp)
BLUEPRINTS += (macro_pages.bp, ticket_live.bp)  # macros settings and insertion; ticket live updates
BLUEPRINTS += (saved_views.bp,)  # the queue's saved views


class IdConverter(IntegerConverter):
    """``<int:...>`` in URLs: ids and numbers are 32-bit, so a larger one is a 404, not a database overflow."""

    def __init__(self, map, *args, max: int | None = 2**31 - 1, **kwargs):  # noqa: A002 (werkzeug's name)
        super().__init__(map, *args, max=max, **kwargs)


def refuse_nul_characters() -> None:
    """No form or link sends NUL (0x00) and PostgreSQL text cannot hold it: such a page request is a 400,
    never a database error. (The API refuses it per field, in its schemas.)"""
    if request.path.startswith("/api/"):
        return
    # A GET or HEAD has no form (building request.form for one still cost 1 % of a queue request).
    for values in (request.args,) if request.method in ("GET", "HEAD") else (request.args, request.form):
        if any("\x00" in key or "\x00" in value for key, value in values.items(multi=True)):
            abort(400, description="The request contains a NUL character.")


def register_web(app: Flask) -> None:
    from app.web.filters import register_filters
    from app.web.session import register_session

    app.url_map.converters["int"] = IdConverter  # before any blueprint adds its rules
    app.before_request(refuse_nul_characters)
    register_session(app)
    register_filters(app)
    for bp in BLUEPRINTS:
        app.register_blueprint(bp)
    from app.web.rows import queue_rows

    app.jinja_env.globals["queue_rows"] = partial(queue_rows, app.jinja_env)
    from app.web.urls import kept_url_for

    app.jinja_env.globals["url_for"] = partial(kept_url_for, app)  # templates build each URL once per process
    from app.web.fragments import kept_fragment

    app.jinja_env.globals["kept_fragment"] = partial(kept_fragment, app.jinja_env)
    from app.web.signing import KeptSerializerSessionInterface, keep_csrf_token, reuse_csrf_token

    app.before_request(reuse_csrf_token)  # the session's CSRF token signed once a minute (app/web/signing.py)
    app.after_request(keep_csrf_token)
    app.session_interface = KeptSerializerSessionInterface()
