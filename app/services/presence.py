"""Who else is on a ticket page, who is typing a reply, and what changed since a page was drawn.

Pages send a heartbeat (``viewing`` every few seconds, ``typing`` while the reply box is typed in,
``left`` when the page goes away); each is one upsert of the (tenant, ticket, person) row. Rows
older than ``PRESENCE_SECONDS`` are ignored when read, and a tenant's rows older than a day are
pruned by the next heartbeat. A page's live poll asks ``live_state`` with the version it shows
(the ticket's ``updated_at`` in microseconds, which every change of a field or comment moves)
and the signature of the presence list it shows; when both match nothing is sent back.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from app.errors import TicketNotFound, ValidationFailed
from app.models import Comment, TicketActivity
from app.models.base import utcnow
from app.repositories.presence import PresenceRepository
from app.repositories.unit_of_work import UnitOfWork

PRESENCE_SECONDS = 30  # a page that sent no heartbeat for this long is gone
TYPING_SECONDS = 10  # "typing" fades this long after the last keystroke ping
PRUNE_AFTER = timedelta(days=1)
STATES = ("viewing", "typing", "left")


@dataclass(frozen=True)
class Viewer:
    user_id: int
    name: str
    typing: bool


@dataclass
class LiveState:
    version: str
    presence: str  # signature of ``viewers``
    viewers: list[Viewer]
    ticket_changed: bool
    presence_changed: bool
    new_comments: list[Comment] = field(default_factory=list)  # by others, since the page's version
    new_activities: list[TicketActivity] = field(default_factory=list)  # by others, since the page's version

    @property
    def changed(self) -> bool:
        return self.ticket_changed or self.presence_changed


def presence_of(uow: UnitOfWork) -> PresenceRepository:
    return PresenceRepository(uow.session, uow.tenant_id)


def version_of(updated_at: datetime) -> str:
    return str(int(updated_at.timestamp() * 1_000_000))


def parse_version(value: str | None) -> datetime | None:
    """The moment a version stands for, or None when it is not one (then everything counts as changed)."""
    if not value or not value.isascii() or not value.isdigit() or len(value) > 17:
        return None
    return datetime.fromtimestamp(int(value) / 1_000_000, tz=timezone.utc)


def heartbeat(uow: UnitOfWork, number: int, state: str) -> None:
    """Record that the acting person has the ticket open (``viewing``), is typing, or left it."""
    if state not in STATES:
        raise ValidationFailed.one("state", f"Must be one of: {', '.join(STATES)}.")
    stamp = uow.tickets.stamp(number)
    if stamp is None:
        raise TicketNotFound(number)
    me = uow.actor.user_id
    if me is None:
        return
    repo, now = presence_of(uow), utcnow()
    if state == "left":
        repo.leave(stamp[0], me)
        return
    repo.beat(stamp[0], me, now, typing=state == "typing")
    repo.prune(now - PRUNE_AFTER)


def stop_typing(uow: UnitOfWork, ticket_id: int) -> None:
    if uow.actor.user_id is not None:
        presence_of(uow).stop_typing(ticket_id, uow.actor.user_id)


def viewers(uow: UnitOfWork, ticket_id: int, now: datetime | None = None) -> list[Viewer]:
    """Everyone but the acting person with the ticket open in the last PRESENCE_SECONDS, by name."""
    now = now or utcnow()
    typing_since = now - timedelta(seconds=TYPING_SECONDS)
    rows = presence_of(uow).present(ticket_id, now - timedelta(seconds=PRESENCE_SECONDS))
    found = [Viewer(r.user_id, r.user.name, r.typing_at is not None and r.typing_at >= typing_since)
             for r in rows if r.user_id != uow.actor.user_id and r.user.active]
    return sorted(found, key=lambda v: (v.name.lower(), v.user_id))


def signature(found: list[Viewer]) -> str:
    text = ";".join(f"{v.user_id}:{int(v.typing)}" for v in found)
    return hashlib.blake2s(text.encode(), digest_size=6).hexdigest()


def live_state(uow: UnitOfWork, number: int, since: str | None, presence: str | None) -> LiveState:
    """What changed on the ticket and in its presence list since the page drew version ``since``."""
    stamp = uow.tickets.stamp(number)
    if stamp is None:
        raise TicketNotFound(number)
    ticket_id, updated_at = stamp
    found = viewers(uow, ticket_id)
    state = LiveState(version=version_of(updated_at), presence=signature(found), viewers=found,
                      ticket_changed=False, presence_changed=False)
    state.presence_changed = presence != state.presence
    state.ticket_changed = since != state.version
    seen_at = parse_version(since)
    if state.ticket_changed and seen_at is not None:
        me = uow.actor.user_id
        state.new_comments = [c for c in uow.tickets.comments(ticket_id, after_time=seen_at)
                              if c.author_id != me]
        state.new_activities = [a for a in uow.tickets.activities(ticket_id, after_time=seen_at)
                                if a.actor_id != me]
    return state
