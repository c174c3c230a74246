"""Sign in and sign out."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from app.services.auth import AmbiguousLogin, LoginThrottled, authenticate, record_logout
from app.web.context import anonymous_actor, user_actor
from app.web.forms import ConfirmForm, LoginForm
from app.web.session import SESSION_KEY, start_signed_in_session

bp = Blueprint("auth", __name__)

FAILED = "Email or password is incorrect."


def throttled_message(retry_after: int) -> str:
    """The same words for every email, known or not: nothing about which accounts exist."""
    minutes = max(1, -(-retry_after // 60))
    wait = "a minute" if minutes == 1 else f"{minutes} minutes"
    return f"Too many failed sign-in attempts. Wait {wait}, then try again."


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("tickets.queue")


@bp.route("/")
def home():
    return redirect(url_for("tickets.queue" if current_user.is_authenticated else "auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("tickets.queue"))
    form = LoginForm(next=request.args.get("next", ""))
    status, headers = 200, {}
    if form.validate_on_submit():
        try:
            signed_in = authenticate(form.email.data, form.password.data, form.workspace.data or None,
                                     anonymous_actor())
        except AmbiguousLogin:
            form.workspace.errors = ["This email belongs to several workspaces: enter the workspace to sign in to."]
            signed_in, status = None, 422
        except LoginThrottled as exc:
            form.form_errors.append(throttled_message(exc.retry_after))
            signed_in, status, headers = None, 429, {"Retry-After": str(exc.retry_after)}
        else:
            if signed_in is None:
                form.form_errors.append(FAILED)
                status = 422
        if signed_in is not None:
            # A new session at sign-in: nothing from before survives, and a new server-side session id.
            start_signed_in_session(signed_in.user, signed_in.session_key)
            return redirect(_safe_next(form.next.data))
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status, headers


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    if ConfirmForm().validate_on_submit():
        record_logout(current_user, user_actor(current_user), session.get(SESSION_KEY))
        logout_user()
        session.clear()
        flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
