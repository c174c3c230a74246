"""Saved views of the queue: the sidebar with live counts, saving, renaming and deleting."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from app.errors import Conflict, ValidationFailed
from app.services import saved_views as view_service
from app.web.context import page_uow

bp = Blueprint("saved_views", __name__)


def _queue_url(params: dict | None = None) -> str:
    return url_for("tickets.queue", **(params or {}))


@bp.get("/tickets/views")
@login_required
def index():
    """The views with their counts: the queue's sidebar (htmx) or a page of its own (no JavaScript)."""
    entries = view_service.sidebar(page_uow())
    if request.htmx:
        return render_template("tickets/_queue_views.html", entries=entries)
    return render_template("tickets/views.html", entries=entries)


@bp.post("/tickets/views")
@login_required
def create():
    """Save the queue's current filter (the query string) under a name."""
    params = {key: request.args.getlist(key) for key in view_service.FILTER_KEYS}
    try:
        with page_uow() as uow:
            view = view_service.create_view(uow, name=request.form.get("name", ""), params=params,
                                            shared=request.form.get("shared") == "1")
            uow.commit()
    except (ValidationFailed, Conflict) as exc:
        flash(_message(exc), "error")
        return redirect(_queue_url(view_service.clean_params(params)))
    flash(f"View \u201c{view.name}\u201d saved{' and shared with the workspace' if view.shared else ''}.", "success")
    return redirect(_queue_url(view.filters))


@bp.post("/tickets/views/<int:view_id>/rename")
@login_required
def rename(view_id: int):
    try:
        with page_uow() as uow:
            view = view_service.rename_view(uow, view_id, request.form.get("name", ""))
            uow.commit()
    except (ValidationFailed, Conflict) as exc:
        flash(_message(exc), "error")
    else:
        flash(f"View renamed to \u201c{view.name}\u201d.", "success")
    return redirect(url_for("saved_views.index"))


@bp.post("/tickets/views/<int:view_id>/delete")
@login_required
def delete(view_id: int):
    with page_uow() as uow:
        name = view_service.delete_view(uow, view_id)
        uow.commit()
    flash(f"View \u201c{name}\u201d deleted.", "success")
    return redirect(url_for("saved_views.index"))


def _message(exc) -> str:
    if isinstance(exc, ValidationFailed):
        return " ".join(m for msgs in exc.errors.values() for m in msgs)
    return str(exc)
