"""Sending a reply from the ticket page: collision check, the comment, a macro's actions, in one transaction.

Collision rule: the page's reply form carries the id of the newest comment it showed
(``seen_comment_id``). If someone else commented after that, the reply is refused once
(``ReplyCollision``, a 409) with their comments, and the page shows them and offers to send
anyway; the new form then carries the newer id, so the same draft goes through unless yet
another comment arrived meanwhile. The check runs under the ticket's row lock (taken by
``add_comment``), so two people sending at the same moment are ordered and the second is warned.
Without ``seen_comment_id`` (other clients, the API) there is no check.
"""
from __future__ import annotations

from app.errors import Conflict
from app.models import Comment
from app.repositories.unit_of_work import UnitOfWork
from app.services import comments as comment_service
from app.services import macros as macro_service
from app.services import presence


class ReplyCollision(Conflict):
    """Others commented after the sender's page was drawn; carries their comments' ids (plain values)."""

    def __init__(self, comment_ids: list[int], newest_id: int):
        super().__init__("Someone else replied while you were writing.")
        self.comment_ids = comment_ids
        self.newest_id = newest_id


def send_reply(uow: UnitOfWork, number: int, *, body: str, public: bool, seen_comment_id: int | None = None,
               macro_id: int | None = None) -> Comment:
    if macro_id is not None:
        macro_service.get_macro(uow, macro_id)  # another tenant's macro: NotFound before anything is written
    comment = comment_service.add_comment(uow, number, body=body, public=public)  # validates, locks the ticket
    if seen_comment_id is not None:
        later = uow.tickets.comments(comment.ticket_id, after_id=seen_comment_id)
        others = [c.id for c in later if c.author_id != uow.actor.user_id]
        if others:
            newest = max(c.id for c in later if c.id != comment.id)
            raise ReplyCollision(others, newest)
    if macro_id is not None:
        macro_service.apply_actions(uow, number, macro_id)
    presence.stop_typing(uow, comment.ticket_id)
    return comment
