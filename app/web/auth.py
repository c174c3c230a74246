"""Sign in and sign out."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.services.auth import AmbiguousLogin, authenticate, record_logout
from app.web.context import anonymous_actor, user_actor
from app.web.forms import ConfirmForm, LoginForm

bp = Blueprint("auth", __name__)

FAILED = "Email or password is incorrect."


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
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data, form.workspace.data or None, anonymous_actor())
        except AmbiguousLogin:
            form.workspace.errors = ["This email belongs to several workspaces: enter the workspace to sign in to."]
            user, status = None, 422
        else:
            if user is None:
                form.form_errors.append(FAILED)
                status = 422
        if user is not None:
            session.clear()  # a new session at sign-in: nothing from before survives
            login_user(user)
            return redirect(_safe_next(form.next.data))
    elif request.method == "POST":
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    if ConfirmForm().validate_on_submit():
        record_logout(current_user, user_actor(current_user))
        logout_user()
        session.clear()
        flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
