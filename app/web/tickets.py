"""The ticket queue, the new-ticket form and the ticket page (side panel, replies)."""
from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block

from app.errors import InvalidTransition, ValidationFailed
from app.repositories.tickets import TicketFilter
from app.repositories.unit_of_work import UnitOfWork
from app.services import comments as comment_service
from app.services import tickets as ticket_service
from app.services.sla import clocks as sla_clocks
from app.web.context import page_uow, user_actor
from app.web.forms import CommentForm, TicketFieldsForm, TicketForm
from app.web import ticket_page
from app.services.replies import ReplyCollision, send_reply
from app.web.macro_forms import ReplyForm

bp = Blueprint("tickets", __name__)

PAGE_SIZE = 20


def _reader() -> UnitOfWork:
    """Repositories for reading: no write transaction is started."""
    return UnitOfWork(current_user.tenant, user_actor(current_user))


def _queue_filter(args) -> tuple[TicketFilter, dict]:
    """The queue's filters from the query string, and the same values for the form."""
    f = TicketFilter(
        statuses=[s for s in args.getlist("status") if s],
        priorities=[p for p in args.getlist("priority") if p],
        tag=args.get("tag", "").strip() or None,
        text=args.get("q", "").strip()[:200] or None,
        sort=args.get("sort") or "updated",
    )
    assignee = args.get("assignee", "")
    if assignee == "me":
        f.assignee_id = current_user.id
    elif assignee == "unassigned":
        f.unassigned = True
    elif assignee.isascii() and assignee.isdigit():
        f.assignee_id = int(assignee)
    form = {"status": f.statuses, "priority": f.priorities[0] if f.priorities else "", "assignee": assignee,
            "tag": f.tag or "", "q": f.text or "", "sort": f.sort}
    return f, form


def _query_string(form: dict, **overrides) -> dict:
    """URL parameters for a link that keeps the current filters (pagination, sorting)."""
    params = {k: v for k, v in {**form, **overrides}.items() if v not in ("", None, [])}
    if params.get("sort") == "updated":
        params.pop("sort")
    return params


@bp.get("/tickets")
@login_required
def queue():
    f, form = _queue_filter(request.args)
    uow = _reader()
    page = ticket_service.list_tickets(uow, f, page=request.args.get("page", 1, type=int), limit=PAGE_SIZE)
    context = dict(page=page, form=form, people=uow.users.active(), query=lambda **o: _query_string(form, **o))
    if request.htmx and request.htmx.target == "ticket-results":
        return render_block("tickets/queue.html", "results", **context)
    return render_template("tickets/queue.html", **context)


@bp.route("/tickets/new", methods=["GET", "POST"])
@login_required
def new():
    form = TicketForm()
    uow_reader = _reader()
    form.assignee_id.choices = [("", "Unassigned")] + [(str(u.id), u.name) for u in uow_reader.users.active()]
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
                _attach_errors(form, exc)
            else:
                flash(f"Ticket #{ticket.number} created.", "success")
                return redirect(url_for("tickets.show", number=ticket.number))
        return render_template("tickets/new.html", form=form), 422
    return render_template("tickets/new.html", form=form)


@bp.get("/tickets/<int:number>")
@login_required
def show(number: int):
    uow = _reader()
    prefill = ticket_page.macro_prefill(uow, number, request.args.get("macro"))  # the macro picker without JS
    return render_template("tickets/show.html", **_ticket_context(uow, number, **prefill))


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
    context = _ticket_context(_reader(), number, panel_error=error, saved=error is None)
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
    context = _ticket_context(_reader(), number, reply_form=form, reply_error=error,
                              active_macro=ticket_page.active_macro(_reader(), form.macro))
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


def _ticket_context(uow: UnitOfWork, number: int, **extra) -> dict:
    ticket = ticket_service.get_ticket(uow, number)
    people = uow.users.active()
    context = dict(
        ticket=ticket,
        comments=uow.tickets.comments(ticket),
        activities=uow.tickets.activities(ticket),
        people=people,
        transitions=ticket_service.allowed_transitions(ticket.status),
        sla_history=sla_clocks.ticket_history(uow, ticket),
        reply_form=ReplyForm(formdata=None),
        oob=False,
    )
    context.update(ticket_page.live_context(uow, ticket, context["comments"]))
    context.update(extra)
    return context


def _collision(number: int, form: ReplyForm, exc: ReplyCollision):
    """409: the others' new comments first, the draft kept, and the form now sends anyway (newer seen id)."""
    form.seen_comment_id.data = str(exc.newest_id)
    uow = _reader()
    context = _ticket_context(uow, number, reply_form=form, active_macro=ticket_page.active_macro(uow, form.macro))
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


def _attach_errors(form, exc: ValidationFailed) -> None:
    for name, messages in exc.errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + messages
        else:
            form.form_errors.extend(messages)
