"""The search page (Tickets and Comments tabs, filters) and the top bar's live results."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block

from app.errors import ValidationFailed
from app.services import search as search_service
from app.services.search.terms import MAX_QUERY
from app.web.context import page_uow

bp = Blueprint("search", __name__)

PAGE_SIZE = 20
LIVE_TICKETS, LIVE_COMMENTS = 5, 3
TABS = {"tickets": search_service.search_tickets, "comments": search_service.search_comments}


def _day(value: str, errors: dict, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = ["Use a date like 2026-01-31."]
        return None


def _query(args) -> tuple[search_service.SearchQuery, dict, dict]:
    """The query from the query string, the same values for the form, and input errors."""
    errors: dict = {}
    tab = args.get("tab") if args.get("tab") in TABS else "tickets"
    form = {
        "q": args.get("q", "").strip(), "tab": tab, "status": [s for s in args.getlist("status") if s],
        "priority": args.get("priority", ""), "assignee": args.get("assignee", ""),
        "from": args.get("from", ""), "to": args.get("to", ""),
        "visibility": args.get("visibility", "") if tab == "comments" else "",
    }
    query = search_service.SearchQuery(
        text=form["q"][:MAX_QUERY + 1], statuses=form["status"], priorities=[form["priority"]] if form["priority"] else [],
        created_from=_day(form["from"], errors, "from"), created_to=_day(form["to"], errors, "to"),
        visibility=form["visibility"] or None, page=max(1, args.get("page", 1, type=int) or 1), limit=PAGE_SIZE,
    )
    if form["assignee"] == "me":
        query.assignee_id = current_user.id
    elif form["assignee"] == "unassigned":
        query.unassigned = True
    elif form["assignee"].isascii() and form["assignee"].isdigit():
        query.assignee_id = int(form["assignee"])
    return query, form, errors


def _params(form: dict, **overrides) -> dict:
    """URL parameters for a link that keeps the current search (tabs, pages)."""
    return {k: v for k, v in {**form, **overrides}.items() if v not in ("", None, [])}


@bp.get("/search")
@login_required
def index():
    query, form, errors = _query(request.args)
    page, status = None, 200
    uow = page_uow()
    if form["q"] and not errors:
        try:
            page = TABS[form["tab"]](uow, query)
        except ValidationFailed as exc:
            errors, status = exc.errors, 422
    elif errors:
        status = 422
    context = dict(page=page, form=form, errors=errors, people=uow.users.choices(),
                   params=lambda **o: _params(form, **o))
    if request.htmx and request.htmx.target == "search-results":
        return render_block("search/index.html", "results", **context), status
    return render_template("search/index.html", **context), status


@bp.get("/search/live")
@login_required
def live():
    """The top bar's results as you type: a few tickets and comments, and a link to all of them."""
    text = request.args.get("q", "").strip()
    tickets = comments = None
    error = None
    if text:
        uow = page_uow()
        try:
            tickets = search_service.search_tickets(uow, search_service.SearchQuery(text=text, limit=LIVE_TICKETS))
            comments = search_service.search_comments(uow, search_service.SearchQuery(text=text, limit=LIVE_COMMENTS))
        except ValidationFailed as exc:
            error = " ".join(m for messages in exc.errors.values() for m in messages)
    return render_template("search/_live.html", q=text, tickets=tickets, comments=comments, error=error)
