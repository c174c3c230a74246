"""flask-login wiring: the session loader, the login page, role checks for pages."""
from __future__ import annotations

from functools import wraps

from flask import Flask, abort, flash, g, make_response, redirect, request, session
from flask_login import current_user, login_required, login_url, login_user

from app.extensions import login_manager
from app.models.base import utcnow
from app.services.auth import user_for_session_id

# Where the Flask session keeps the key of the server-side session (app/services/sessions.py).
SESSION_KEY = "sid"


def register_session(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    # "strong" drops the session when the client's address or agent changes; "basic"
    # keeps sessions alive across address changes but still marks them non-fresh.
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)


def _load_user(user_id: str):
    """Signed in only while the server-side session named in the cookie is live.

    The session's row comes with the tenant's, whose audit position keys what the request may read from
    remembered answers (repositories/ticket_counts.py): ``g.data_as_of`` is the moment before, so no
    change committed after it can be missing from what the request shows as of then (the queue's poll)."""
    g.data_as_of = utcnow()
    return user_for_session_id(user_id, session.get(SESSION_KEY))


def start_signed_in_session(user, session_key: str) -> None:
    """A new Flask session for a sign-in: nothing from before survives, and it expires (SESSION_LIFETIME_HOURS)."""
    session.clear()
    login_user(user)
    session[SESSION_KEY] = session_key
    session.permanent = True


def _unauthorized():
    """Anonymous → the sign-in page. An htmx request gets HX-Redirect: a plain 302 would be
    followed by the XHR and the sign-in page swapped into the fragment's target."""
    flash(login_manager.login_message, login_manager.login_message_category)
    if request.htmx:
        response = make_response("", 401)
        response.headers["HX-Redirect"] = login_url(login_manager.login_view,
                                                    next_url=request.htmx.current_url or request.url)
        return response
    return redirect(login_url(login_manager.login_view, next_url=request.url))


def role_required(role: str):
    """Pages of a role: anonymous → login page, signed in without the role → 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(role):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
