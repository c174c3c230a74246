"""Public replies and internal notes on a ticket."""
from __future__ import annotations

from app.observability.tracing import traced
from app.errors import InvalidTransition
from app.models import Comment
from app.models.base import utcnow
from app.repositories.unit_of_work import UnitOfWork
from app.services.sla import clocks as sla_clocks
from app.services.tickets import reopen_for_reply, ticket_payload
from app.services.validation import Errors, check_length, clean_text

MAX_BODY = 50_000


@traced("comment.create")
def add_comment(uow: UnitOfWork, number: int, *, body: str, public: bool) -> Comment:
    errors = Errors()
    body = clean_text(body)
    check_length(errors, "body", body, required=True, maximum=MAX_BODY)
    if not isinstance(public, bool):
        errors.add("public", "Must be true or false.")
    errors.raise_if_any()

    ticket = uow.tickets.get(number, for_update=True)
    if ticket.status == "closed":
        raise InvalidTransition("A closed ticket is final and takes no more comments.")
    now = utcnow()
    comment = uow.tickets.add_comment(
        Comment(ticket_id=ticket.id, author_id=uow.actor.user_id, body=body, public=public, created_at=now)
    )
    by_agent = uow.actor.user is not None
    previous = reopen_for_reply(uow, ticket, public=public, by_agent=by_agent)
    sla_clocks.comment_added(uow, ticket, public=public, by_agent=by_agent, previous_status=previous)
    ticket.updated_at = now
    uow.session.flush()

    uow.audit("CREATE", "Comment", comment.id, {"after": {"public": public, "length": len(body)}},
              ticket_number=ticket.number)
    if previous is not None:
        uow.audit("UPDATE", "Ticket", ticket.id, {"before": {"status": previous}, "after": {"status": ticket.status}},
                  ticket_number=ticket.number)
    payload = ticket_payload(ticket)
    uow.emit("comment.created", {"ticket": payload, "comment": comment_payload(comment, uow.actor.label)})
    if previous is not None:
        uow.emit("ticket.status_changed", {"ticket": payload, "from": previous, "to": ticket.status})
    return comment


def list_comments(uow: UnitOfWork, number: int, *, page: int, limit: int):
    ticket = uow.tickets.get(number)
    return uow.tickets.comments_page(ticket, page, limit)


def comment_payload(comment: Comment, author_label: str | None = None) -> dict:
    return {
        "id": comment.id,
        "body": comment.body,
        "public": comment.public,
        "authorId": comment.author_id,
        "author": author_label,
        "createdAt": comment.created_at.isoformat(),
    }
