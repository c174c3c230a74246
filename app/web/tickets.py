"""The ticket queue, the new-ticket form and the ticket page (side panel, replies)."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block

from app.errors import InvalidTransition, TicketNotFound, ValidationFailed
from app.models.base import utcnow
from app.repositories.tickets import TicketFilter
from app.services import bulk as bulk_service
from app.services import saved_views as view_service
from app.services import tickets as ticket_service
from app.web.context import page_uow
from app.web.forms import TicketFieldsForm, TicketForm, attach_errors, options
from app.web import ticket_page
from app.services.replies import ReplyCollision, send_reply
from app.web.macro_forms import ReplyForm
from app.web.urls import kept_url_for

bp = Blueprint("tickets", __name__)

PAGE_SIZE = 20


def _queue_filter(args) -> tuple[TicketFilter, dict]:
    """The queue's filters from the query string, and the same values for the form."""
    f = view_service.ticket_filter({key: args.getlist(key) for key in view_service.FILTER_KEYS}, current_user.id)
    form = {"status": f.statuses, "priority": f.priorities[0] if f.priorities else "",
            "assignee": args.get("assignee", ""), "tag": f.tag or "", "q": f.text or "", "sort": f.sort,
            "sla": f.sla or ""}
    return f, form


def _query_string(form: dict, **overrides) -> dict:
    """URL parameters for a link that keeps the current filters (pagination, sorting)."""
    params = {k: v for k, v in {**form, **overrides}.items() if v not in ("", None, [])}
    if params.get("sort") == "updated":
        params.pop("sort")
    return params


def _queue_context(f: TicketFilter, form: dict, since: datetime | None = None, **extra) -> dict:
    """What the queue page and its results fragment show (the bulk form and live notice included).

    ``since``: the moment the shown data is as of, from which the live notice counts changes. By default
    the moment before the tenant's position was read with the user (app/web/session.py), which keys the
    remembered page; a view that wrote first passes the time after its commit."""
    since = since or g.get("data_as_of") or utcnow()
    uow = page_uow()
    page = ticket_service.list_tickets(uow, f, page=request.args.get("page", 1, type=int), limit=PAGE_SIZE)
    filters = _query_string(form)  # the pager's links add their page to the same filters
    context = dict(page=page, form=form, people=uow.users.choices(), query=lambda **o: _query_string(form, **o),
                   page_href=lambda n: kept_url_for(current_app, "tickets.queue", **filters, page=n),
                   shown_numbers=[ticket.number for ticket in page.items], since=since.isoformat(),
                   bulk_limit=bulk_service.BULK_LIMIT, selected=set(), bulk_message=None, bulk_error=None)
    context.update(extra)
    return context


@bp.get("/tickets")
@login_required
def queue():
    f, form = _queue_filter(request.args)
    context = _queue_context(f, form)
    if request.htmx and request.htmx.target == "ticket-results":
        return render_block("tickets/queue.html", "results", **context)
    return render_template("tickets/queue.html", **context)


@bp.get("/tickets/changes")
@login_required
def queue_changes():
    """Polled by the queue (htmx, every 15 s): 204 unless tickets of this filter changed since the page
    was drawn, and changed again since the notice was last shown (``known``). One COUNT, no waiting."""
    f, form = _queue_filter(request.args)
    try:
        since = datetime.fromisoformat(request.args.get("since", ""))
    except ValueError:
        since = None
    if since is None or since.tzinfo is None:
        raise ValidationFailed.one("since", "An ISO 8601 time with its UTC offset.")
    shown = [int(n) for n in request.args.getlist("shown") if _digits(n)]
    count = view_service.changed_since(page_uow(), f, since, shown)
    if count == 0 or count == request.args.get("known", 0, type=int):
        return "", 204
    return render_template("tickets/_queue_changes.html", count=count, since=since.isoformat(), shown=shown,
                           refresh_query=_query_string(form, page=request.args.get("page")))


@bp.post("/tickets/bulk")
@login_required
def bulk_update():
    """Bulk change from the queue. The filter is in the query string (the queue's own parameters), so
    "all matching" runs it again here and the answer goes back to the same queue."""
    f, form = _queue_filter(request.args)
    numbers = None if request.form.get("scope") == "all" else _ticket_numbers(request.form.getlist("number"))
    message = error = None
    status = 200
    try:
        with page_uow() as uow:
            result = bulk_service.bulk_update(uow, _bulk_changes(request.form), numbers=numbers,
                                              ticket_filter=f if numbers is None else None)
            uow.commit()
        message = result.message
    except ValidationFailed as exc:
        error, status = " ".join(m for msgs in exc.errors.values() for m in msgs), 422
    except InvalidTransition as exc:
        error, status = str(exc), 409
    if not request.htmx:
        flash(error or message, "error" if error else "success")
        return redirect(url_for("tickets.queue", **_query_string(form, page=request.args.get("page"))))
    context = _queue_context(f, form, since=utcnow(), bulk_message=message, bulk_error=error,
                             selected=set(numbers or ()) if error else set())
    response = make_response(render_block("tickets/queue.html", "results", **context), status)
    if error is None:
        response.headers["HX-Trigger"] = "ticketry:queue-changed"  # the views sidebar recounts
    return response


def _ticket_numbers(values: list[str]) -> list[int]:
    """Ticket numbers from the form; anything that is not one cannot be a ticket here (404)."""
    if not all(_digits(v) for v in values):
        raise TicketNotFound()
    return [int(v) for v in values]


def _bulk_changes(data) -> bulk_service.BulkChanges:
    assignee = data.get("set_assignee", "")
    changes = bulk_service.BulkChanges(status=data.get("set_status") or None,
                                       priority=data.get("set_priority") or None,
                                       add_tags=data.get("add_tags", ""), remove_tags=data.get("remove_tags", ""))
    if assignee == "none":
        changes.assign = True
    elif assignee == "me":
        changes.assign, changes.assignee_id = True, current_user.id
    elif assignee:
        if not _digits(assignee):
            raise ValidationFailed.one("assignee_id", "Not an active person of this workspace.")
        changes.assign, changes.assignee_id = True, int(assignee)
    return changes


@bp.route("/tickets/new", methods=["GET", "POST"])
@login_required
def new():
    form = TicketForm()
    uow_reader = page_uow()
    form.assignee_id.choices = options([("", "Unassigned")] + [(str(u.id), u.name) for u in uow_reader.users.choices()])
    if request.method == "POST":
        if form.validate():
            try:
                with page_uow() as uow:
                    ticket = ticket_service.create_ticket(
                        uow,
                        subject=form.subject.data,
                        description=form.description.data,
                        requester_name=form.requester_name.data,
                        requester_email=form.requester_email.data,
                        priority=form.priority.data,
                        assignee_id=int(form.assignee_id.data) if _digits(form.assignee_id.data) else None,
                        tags=form.tags.data or "",
                    )
                    uow.commit()
            except ValidationFailed as exc:
                attach_errors(form, exc)
            else:
                flash(f"Ticket #{ticket.number} created.", "success")
                return redirect(url_for("tickets.show", number=ticket.number))
        return render_template("tickets/new.html", form=form), 422
    return render_template("tickets/new.html", form=form)


@bp.get("/tickets/<int:number>")
@login_required
def show(number: int):
    uow = page_uow()
    prefill = ticket_page.macro_prefill(uow, number, request.args.get("macro"))  # the macro picker without JS
    return render_template("tickets/show.html", **ticket_page.ticket_context(uow, number, **prefill))


@bp.post("/tickets/<int:number>/fields")
@login_required
def update_fields(number: int):
    form = TicketFieldsForm()
    error, status = None, 200
    if not form.validate():
        error, status = " ".join(e for errs in form.errors.values() for e in errs), 422
    else:
        changes = {}
        for name in ("status", "priority", "tags"):
            if name in request.form:
                changes[name] = request.form[name]
        if "assignee_id" in request.form:
            raw = request.form["assignee_id"]
            changes["assignee_id"] = int(raw) if _digits(raw) else None
        try:
            with page_uow() as uow:
                ticket_service.update_ticket(uow, number, changes)
                uow.commit()
        except ValidationFailed as exc:
            error, status = " ".join(m for msgs in exc.errors.values() for m in msgs), 422
        except InvalidTransition as exc:
            error, status = str(exc), 409
    if not request.htmx:
        flash(error or "Ticket updated.", "error" if error else "success")
        return redirect(url_for("tickets.show", number=number))
    context = ticket_page.ticket_context(page_uow(), number, panel_error=error, saved=error is None)
    html = render_block("tickets/show.html", "side_panel", **context)
    if error is None:
        context["oob"] = True
        html += render_block("tickets/show.html", "activity", **context)
        html += render_block("tickets/show.html", "heading", **context)
        html += render_block("tickets/show.html", "sla_panel", **context)
    return html, status


@bp.post("/tickets/<int:number>/comments")
@login_required
def add_comment(number: int):
    form = ReplyForm()
    error, status = None, 200
    if form.validate():
        try:
            with page_uow() as uow:
                send_reply(uow, number, body=form.body.data, public=form.public, seen_comment_id=form.seen_id,
                           macro_id=form.macro)
                uow.commit()
        except ReplyCollision as exc:  # others replied since this form was drawn: show them, keep the draft
            return _collision(number, form, exc)
        except ValidationFailed as exc:
            form.body.errors = [m for msgs in exc.errors.values() for m in msgs]
            status = 422
        except InvalidTransition as exc:
            error, status = str(exc), 409
    else:
        status = 422
    if not request.htmx:
        if status == 200:
            flash("Reply added." if form.public else "Internal note added.", "success")
        else:
            flash(error or " ".join(form.body.errors) or "The reply could not be added.", "error")
        return redirect(url_for("tickets.show", number=number) + "#conversation")
    uow = page_uow()
    context = ticket_page.ticket_context(uow, number, reply_form=form, reply_error=error,
                                         active_macro=ticket_page.active_macro(uow, form.macro))
    if status != 200:
        response = make_response(render_block("tickets/show.html", "reply_box", **context), status)
        response.headers["HX-Retarget"] = "#reply-box"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    context.update(reply_form=ticket_page.fresh_reply_form(), active_macro=None)
    html = render_block("tickets/show.html", "conversation", **context)
    context["oob"] = True
    context["announcement"] = "Reply sent." if form.public else "Internal note added."
    for block in ("activity", "heading", "side_panel", "reply_box", "sla_panel", "announcer"):
        html += render_block("tickets/show.html", block, **context)
    response = make_response(html)
    response.headers["HX-Trigger"] = "ticketry:comment-added"
    return response


def _collision(number: int, form: ReplyForm, exc: ReplyCollision):
    """409: the others' new comments first, the draft kept, and the form now sends anyway (newer seen id)."""
    form.seen_comment_id.data = str(exc.newest_id)
    uow = page_uow()
    context = ticket_page.ticket_context(uow, number, reply_form=form, active_macro=ticket_page.active_macro(uow, form.macro))
    context["collision_comments"] = [c for c in context["comments"] if c.id in exc.comment_ids]
    context["new_ids"] = set(exc.comment_ids)
    if not request.htmx:
        return render_template("tickets/show.html", **context), 409
    html = render_block("tickets/show.html", "reply_box", **context)
    context["oob"] = True
    for block in ("conversation", "heading", "side_panel", "activity"):
        html += render_block("tickets/show.html", block, **context)
    response = make_response(html, 409)
    response.headers["HX-Retarget"] = "#reply-box"
    response.headers["HX-Reswap"] = "outerHTML"
    return response


def _digits(value: str | None) -> bool:
    """ASCII digits only: str.isdigit() also accepts '²', which int() refuses."""
    return bool(value) and value.isascii() and value.isdigit()


