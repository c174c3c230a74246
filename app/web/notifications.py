"""Notification pages: the bell, /notifications, preferences, following a ticket, the admin email log."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from jinja2_fragments.flask import render_block
from wtforms import BooleanField

from app.models.notifications import CHANNELS, EMAIL_STATUSES, NOTIFICATION_EVENTS
from app.services import mail
from app.services import notifications as service
from app.web.context import page_uow
from app.web.forms import ConfirmForm, FORM_EXPIRED, confirmed_change
from app.web.session import role_required

bp = Blueprint("notifications", __name__)

PAGE_SIZE = 20
EMAIL_PAGE_SIZE = 25


def preference_field(event: str, channel: str) -> str:
    return f"{event.replace('.', '_')}__{channel}"


class PreferencesForm(FlaskForm):
    """One checkbox per event and channel (fields added below)."""


for _event in NOTIFICATION_EVENTS:
    for _channel in CHANNELS:
        setattr(PreferencesForm, preference_field(_event, _channel),
                BooleanField(f"{service.EVENT_LABELS[_event]}: {service.CHANNEL_LABELS[_channel].lower()}"))


@bp.app_context_processor
def _template_helpers() -> dict:
    """For the ticket page's Follow button (its view belongs to the tickets blueprint)."""
    return {"following_ticket": lambda ticket: service.is_following(page_uow(), ticket.id),
            "preference_field": preference_field}


# -- the bell and the list ------------------------------------------------------------------------
@bp.get("/notifications/bell")
@login_required
def bell():
    return render_template("notifications/_bell.html", count=service.unread_count(page_uow()), here=request.endpoint)


def _list_context(**extra) -> dict:
    unread_only = request.args.get("show") == "unread"
    uow = page_uow()
    page = service.list_notifications(uow, page=max(1, request.args.get("page", 1, type=int)), limit=PAGE_SIZE,
                                      unread_only=unread_only)
    return dict(page=page, unread=service.unread_count(uow), show="unread" if unread_only else "",
                confirm=ConfirmForm(), **extra)


@bp.get("/notifications")
@login_required
def index():
    context = _list_context()
    if request.htmx and request.htmx.target == "notification-list":
        return render_block("notifications/index.html", "list", **context)
    return render_template("notifications/index.html", **context)


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    if ConfirmForm().validate():
        with page_uow() as uow:
            n = service.mark_read(uow, notification_id)
            uow.commit()
    else:
        n = service.get_notification(page_uow(), notification_id)
    if request.htmx:
        return render_template("notifications/_row.html", n=n, confirm=ConfirmForm())
    return redirect(request.form.get("next") if _local(request.form.get("next")) else url_for("notifications.index"))


@bp.post("/notifications/read-all")
@login_required
def mark_all_read():
    count = None
    if ConfirmForm().validate():
        with page_uow() as uow:
            count = service.mark_all_read(uow)
            uow.commit()
    message = (FORM_EXPIRED if count is None
               else f"{count} notification{'s' if count != 1 else ''} marked read." if count else "Nothing unread.")
    if request.htmx:
        return render_block("notifications/index.html", "list", **_list_context(message=message))
    flash(message, "error" if count is None else "success")
    return redirect(url_for("notifications.index"))


def _local(target: str | None) -> bool:
    return bool(target) and target.startswith("/") and not target.startswith("//")


# -- preferences --------------------------------------------------------------------------------------
@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
def preferences():
    saved, status = False, 200
    if request.method == "POST":
        form = PreferencesForm()
        if form.validate():
            changes = {event: {channel: bool(form[preference_field(event, channel)].data) for channel in CHANNELS}
                       for event in NOTIFICATION_EVENTS}
            with page_uow() as uow:
                service.update_preferences(uow, changes)
                uow.commit()
            if not request.htmx:
                flash("Notification preferences saved.", "success")
                return redirect(url_for("notifications.preferences"))
            saved = True
        else:
            status = 422
    if request.method == "GET" or saved:
        data = {preference_field(p.event_type, channel): getattr(p, channel)
                for p in service.preferences(page_uow()) for channel in CHANNELS}
        form = PreferencesForm(formdata=None, data=data)
    context = dict(form=form, events=[(e, service.EVENT_LABELS[e], service.EVENT_HELP[e]) for e in NOTIFICATION_EVENTS],
                   channels=[(c, service.CHANNEL_LABELS[c]) for c in CHANNELS], saved=saved)
    if request.htmx:
        return render_block("notifications/preferences.html", "prefs", **context), status
    return render_template("notifications/preferences.html", **context), status


# -- following a ticket -----------------------------------------------------------------------------
def _follow_change(number: int, follow: bool):
    if ConfirmForm().validate():
        with page_uow() as uow:
            (service.follow_ticket if follow else service.unfollow_ticket)(uow, number)
            uow.commit()
        message = "You follow this ticket: its comments notify you." if follow else "You no longer follow this ticket."
    else:
        message = FORM_EXPIRED
    if request.htmx:
        ticket = page_uow().tickets.get(number)
        return render_template("notifications/_follow.html", ticket=ticket, follow_message=message)
    flash(message, "success")
    return redirect(url_for("tickets.show", number=number))


@bp.post("/tickets/<int:number>/follow")
@login_required
def follow(number: int):
    return _follow_change(number, True)


@bp.post("/tickets/<int:number>/unfollow")
@login_required
def unfollow(number: int):
    return _follow_change(number, False)


# -- the admin email log ---------------------------------------------------------------------------------
def _log_context(**extra) -> dict:
    uow = page_uow()
    status = request.args.get("status") if request.args.get("status") in EMAIL_STATUSES else ""
    page = mail.list_emails(uow, status=status, page=max(1, request.args.get("page", 1, type=int)),
                            limit=EMAIL_PAGE_SIZE)
    return dict(page=page, status=status, statuses=EMAIL_STATUSES, labels=mail.STATUS_LABELS,
                counts=mail.email_counts(uow), sending=mail.sends_for_real(), confirm=ConfirmForm(), **extra)


@bp.get("/admin/emails")
@role_required("admin")
def email_log():
    context = _log_context()
    if request.htmx and request.htmx.target == "email-log":
        return render_block("notifications/emails.html", "log", **context)
    return render_template("notifications/emails.html", **context)


@bp.get("/admin/emails/<int:email_id>")
@role_required("admin")
def email(email_id: int):
    return render_template("notifications/email.html", e=mail.get_email(page_uow(), email_id),
                           labels=mail.STATUS_LABELS, confirm=ConfirmForm())


@bp.post("/admin/emails/<int:email_id>/retry")
@role_required("admin")
def retry_email(email_id: int):
    _, message, status = confirmed_change(lambda uow: mail.retry_email(uow, email_id))
    if request.htmx:
        return render_template("notifications/_email_row.html", e=mail.get_email(page_uow(), email_id),
                               labels=mail.STATUS_LABELS, confirm=ConfirmForm(),
                               row_message=message or "Queued again."), status
    flash(message or "Email queued again.", "error" if message else "success")
    if request.form.get("back") == "detail":
        return redirect(url_for("notifications.email", email_id=email_id))
    return redirect(url_for("notifications.email_log"))
