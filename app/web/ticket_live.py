"""The ticket page's live updates and presence heartbeats (htmx polling: short requests, no held worker).

- ``GET /tickets/<n>/live?since=<version>&presence=<signature>``, polled every 5 s by the page: 204 when
  neither the ticket nor the list of people on it changed, else out-of-band swaps of what changed and a
  sentence for the page's live region. Read-only.
- ``POST /tickets/<n>/presence`` (state viewing | typing | left): the page's heartbeat; 204.
"""
from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from flask_login import login_required
from jinja2_fragments.flask import render_block

from app.errors import ValidationFailed
from app.services import presence as presence_service
from app.web import ticket_page
from app.web.context import page_uow

bp = Blueprint("ticket_live", __name__)

TEMPLATE = "tickets/show.html"


@bp.get("/tickets/<int:number>/live")
@login_required
def poll(number: int):
    uow = page_uow()
    state = presence_service.live_state(uow, number, request.args.get("since"), request.args.get("presence"))
    if not state.changed:
        return "", 204
    if not request.htmx:  # a plain visit: the page itself is the fresh state
        return redirect(url_for("tickets.show", number=number))
    # The heading's poll asks from the version this answer decided on (state.version), not from the ticket
    # read again below: on PostgreSQL each statement sees the latest commit, so a reply committed between
    # the two reads would otherwise advance the version while the conversation block was not sent, and
    # every later poll would answer 204 over a page missing that reply.
    context = ticket_page.ticket_context(uow, number, oob=True, new_ids={c.id for c in state.new_comments}, live=state,
                                         version=state.version)
    blocks = ["heading", "announcer"]
    if state.ticket_changed:
        blocks += ["conversation", "side_panel", "activity", "sla_panel"]
        if context["ticket"].status == "closed":
            blocks.append("reply_box")  # a closed ticket takes no reply: the draft cannot be sent anyway
    return "".join(render_block(TEMPLATE, block, **context) for block in blocks)


@bp.post("/tickets/<int:number>/presence")
@login_required
def heartbeat(number: int):
    try:
        with page_uow() as uow:
            presence_service.heartbeat(uow, number, request.form.get("state", "viewing"))
            uow.commit()
    except ValidationFailed as exc:
        return " ".join(m for msgs in exc.errors.values() for m in msgs), 422
    if not request.htmx:
        return redirect(url_for("tickets.show", number=number))
    return "", 204
