"""What the ticket page adds to its context for macros, presence, live updates and reply collisions.

Kept apart from the views (app/web/tickets.py, app/web/ticket_live.py) so both can use it:
``ticket_context`` is the whole page's context.
"""
from __future__ import annotations

from app.errors import NotFound
from app.models import Comment, Ticket
from app.repositories.unit_of_work import UnitOfWork
from app.services import macros as macro_service
from app.services import presence as presence_service
from app.services import tickets as ticket_service
from app.services.sla import clocks as sla_clocks
from app.web.macro_forms import ReplyForm


def ticket_context(uow: UnitOfWork, number: int, **extra) -> dict:
    """Everything the ticket page (tickets/show.html) and its fragments render."""
    ticket = ticket_service.get_ticket(uow, number)
    people = uow.users.choices()
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
    context.update(live_context(uow, ticket, context["comments"]))
    context.update(extra)
    return context


def live_context(uow: UnitOfWork, ticket: Ticket, comments: list[Comment]) -> dict:
    """Macros for the picker, who else is here, and the version the page shows (for its live poll)."""
    viewers = presence_service.viewers(uow, ticket.id)
    return dict(
        macros=macro_service.list_macros(uow),
        viewers=viewers,
        presence_sig=presence_service.signature(viewers),
        version=presence_service.version_of(ticket.updated_at),
        seen_comment_id=comments[-1].id if comments else 0,
        new_ids=set(),
        collision_comments=[],
        active_macro=None,
        live=None,
    )


def fresh_reply_form() -> ReplyForm:
    return ReplyForm(formdata=None)


def macro_prefill(uow: UnitOfWork, number: int, raw: str | None) -> dict:
    """``/tickets/7?macro=3`` (the picker without JavaScript): the reply box filled with the rendered macro."""
    macro_id = ReplyForm._id(raw)
    if macro_id is None:
        return {}
    try:
        macro, text = macro_service.render_for_ticket(uow, number, macro_id)
    except NotFound:
        return {}
    form = ReplyForm(formdata=None, body=text, macro_id=str(macro.id))
    return {"reply_form": form, "active_macro": macro}


def active_macro(uow: UnitOfWork, macro_id: int | None):
    if macro_id is None:
        return None
    try:
        return macro_service.get_macro(uow, macro_id)
    except NotFound:
        return None
