"""Notifications: who hears about what happened to a ticket, in the app and by email.

``notify`` writes one row per person in the caller's unit of work, so the
notification exists exactly when the change that caused it commits; people who
switched an event off for the app are skipped. The SLA sweep calls it for
warnings and breaches; assignments and comments come from the outbox handler
at the bottom (``notifications``), which runs once per event (a ProcessedEvent
row) and also writes the emails (app.services.mail), one per event and person
at most (a unique key). So every event has one path to each channel:

=====================  ==========================  ===========================
event                  in the app                  email
=====================  ==========================  ===========================
ticket.assigned        handler → the assignee      handler
comment.created        handler → assignee,         handler
                       followers
ticket.sla_warning     the sweep → assignee,       handler (same recipients)
ticket.sla_breached    the tenant's leads
=====================  ==========================  ===========================

Nobody hears about their own action. Preferences are per person, event and
channel; without a row an event notifies on both channels.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Protocol

from app.errors import NotFound, PermissionDenied, TicketNotFound, ValidationFailed
from app.models import OutboxEvent, User
from app.models.base import utcnow
from app.models.notifications import CHANNELS, NOTIFICATION_EVENTS
from app.repositories.pagination import MAX_LIMIT, Page
from app.repositories.unit_of_work import UnitOfWork
from app.services import mail
from app.services.events import handles

log = logging.getLogger(__name__)

MAX_TITLE = 255
EVENT_LABELS = {
    "ticket.assigned": "Assigned to you",
    "comment.created": "New comment",
    "ticket.sla_warning": "SLA target at risk",
    "ticket.sla_breached": "SLA target missed",
    "webhook.disabled": "Webhook disabled",
}
EVENT_HELP = {
    "ticket.assigned": "A ticket is assigned to me.",
    "comment.created": "Someone replies or adds a note on a ticket I am assigned to or follow.",
    "ticket.sla_warning": "An SLA target of my ticket is at risk (leads: of any ticket).",
    "ticket.sla_breached": "An SLA target of my ticket is missed (leads: of any ticket).",
}
CHANNEL_LABELS = {"in_app": "In the app", "email": "By email"}
CLOCK_LABELS = {"first_response": "First response", "next_reply": "Next reply", "resolution": "Resolution"}


class TicketRef(Protocol):
    id: int
    number: int


@dataclass(frozen=True)
class Notice:
    user_ids: Iterable[int | None]
    event_type: str
    ticket: TicketRef
    title: str


def notify(uow: UnitOfWork, user_ids: Iterable[int | None], event_type: str, ticket: TicketRef, title: str) -> int:
    """Notify each person once (None and repeats are skipped); returns how many rows were written."""
    return notify_many(uow, [Notice(user_ids, event_type, ticket, title)])


def notify_many(uow: UnitOfWork, notices: Iterable[Notice]) -> int:
    """Several notifications in one INSERT: the SLA sweep escalates hundreds of tickets at once.

    People who turned the event off for the app are skipped (one query for the whole batch).
    """
    now = utcnow()
    wanted = [(notice, list(dict.fromkeys(u for u in notice.user_ids if u is not None))) for notice in notices]
    off = uow.notifications.turned_off(sorted({u for _, users in wanted for u in users}),
                                       sorted({n.event_type for n, _ in wanted if n.event_type in NOTIFICATION_EVENTS}),
                                       "in_app")
    rows = []
    for notice, user_ids in wanted:
        for user_id in user_ids:
            if (user_id, notice.event_type) in off:
                continue
            rows.append({"user_id": user_id, "event_type": notice.event_type, "ticket_id": notice.ticket.id,
                         "ticket_number": notice.ticket.number, "title": notice.title[:MAX_TITLE], "created_at": now})
    uow.notifications.add_many(rows)
    return len(rows)


def recent_notifications(uow: UnitOfWork, user_id: int, limit: int = 50):
    return uow.notifications.for_user(user_id, limit)


# -- reading and marking read: always the acting person's own ----------------------------------------
@dataclass(frozen=True)
class NotificationView:
    id: int
    event_type: str
    title: str
    ticket_number: int | None
    ticket_subject: str | None
    created_at: datetime
    read_at: datetime | None

    @property
    def event_label(self) -> str:
        return EVENT_LABELS.get(self.event_type, self.event_type)

    @property
    def read(self) -> bool:
        return self.read_at is not None


def _view(row, subject: str | None) -> NotificationView:
    return NotificationView(id=row.id, event_type=row.event_type, title=row.title, ticket_number=row.ticket_number,
                            ticket_subject=subject, created_at=row.created_at, read_at=row.read_at)


def _me(uow: UnitOfWork) -> User:
    if uow.actor.user is None:
        raise PermissionDenied("Notifications belong to a person.")
    return uow.actor.user


def list_notifications(uow: UnitOfWork, *, page: int = 1, limit: int = 20, unread_only: bool = False) -> Page:
    errors = {}
    if not 1 <= limit <= MAX_LIMIT:
        errors["limit"] = [f"Must be between 1 and {MAX_LIMIT}."]
    if page < 1:
        errors["page"] = ["Must be at least 1."]
    if errors:
        raise ValidationFailed(errors)
    result = uow.notifications.page_for_user(_me(uow).id, page, limit, unread_only=unread_only)
    result.items = [_view(row, subject) for row, subject in result.items]
    return result


def unread_count(uow: UnitOfWork) -> int:
    return uow.notifications.unread_count(_me(uow).id)


def get_notification(uow: UnitOfWork, notification_id: int) -> NotificationView:
    found = uow.notifications.get_for_user(_me(uow).id, notification_id)
    if found is None:
        raise NotFound("Notification", notification_id)
    return _view(*found)


def mark_read(uow: UnitOfWork, notification_id: int) -> NotificationView:
    """Mark one of the person's notifications read (already read: unchanged, no audit row)."""
    me = _me(uow)
    get_notification(uow, notification_id)
    if uow.notifications.mark_read(me.id, [notification_id], utcnow()):
        uow.audit("UPDATE", "Notification", notification_id, {"before": {"read": False}, "after": {"read": True}})
    uow.session.flush()
    return get_notification(uow, notification_id)


def mark_many_read(uow: UnitOfWork, notification_ids: list[int]) -> int:
    """Mark these notifications of the person read; NotFound if one is not theirs. How many were unread."""
    me = _me(uow)
    ids = sorted(set(notification_ids))
    for notification_id in ids:
        get_notification(uow, notification_id)
    count = uow.notifications.mark_read(me.id, ids, utcnow())
    if count:
        uow.audit("UPDATE", "Notification", ids[0] if len(ids) == 1 else None,
                  {"after": {"read": True, "count": count, "ids": ids}})
    return count


def mark_all_read(uow: UnitOfWork) -> int:
    """Mark every unread notification of the person read; how many there were."""
    me = _me(uow)
    count = uow.notifications.mark_read(me.id, None, utcnow())
    if count:
        uow.audit("UPDATE", "Notification", None, {"after": {"read": True, "count": count}})
    return count


# -- preferences --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Preference:
    event_type: str
    in_app: bool
    email: bool

    @property
    def label(self) -> str:
        return EVENT_LABELS[self.event_type]

    @property
    def description(self) -> str:
        return EVENT_HELP[self.event_type]


def preferences(uow: UnitOfWork) -> list[Preference]:
    """The person's choice for every event and channel, defaults (on) filled in."""
    chosen = {(row.event_type, row.channel): row.enabled for row in uow.notifications.preferences_of(_me(uow).id)}
    return [Preference(event, chosen.get((event, "in_app"), True), chosen.get((event, "email"), True))
            for event in NOTIFICATION_EVENTS]


def update_preferences(uow: UnitOfWork, changes: dict[str, dict[str, bool]]) -> list[Preference]:
    """Set any of {event: {channel: on/off}}; events and channels left out keep their value."""
    errors: dict[str, list[str]] = {}
    for event, channels in changes.items():
        if event not in NOTIFICATION_EVENTS:
            errors[event] = [f"Unknown event; use one of: {', '.join(NOTIFICATION_EVENTS)}."]
        elif not isinstance(channels, dict):
            errors[event] = ["Give on/off values per channel."]
        else:
            for channel, value in channels.items():
                if channel not in CHANNELS:
                    errors[f"{event}.{channel}"] = [f"Unknown channel; use one of: {', '.join(CHANNELS)}."]
                elif not isinstance(value, bool):
                    errors[f"{event}.{channel}"] = ["Must be true or false."]
    if errors:
        raise ValidationFailed(errors)
    me, now = _me(uow), utcnow()
    current = {p.event_type: {"in_app": p.in_app, "email": p.email} for p in preferences(uow)}
    before, after = {}, {}
    for event, channels in changes.items():
        for channel, value in channels.items():
            if current[event][channel] != value:
                before[f"{event}.{channel}"], after[f"{event}.{channel}"] = current[event][channel], value
                uow.notifications.set_preference(me.id, event, channel, value, now)
    if after:
        uow.audit("UPDATE", "NotificationPreference", me.id, {"before": before, "after": after})
    uow.session.flush()
    return preferences(uow)


# -- following a ticket -----------------------------------------------------------------------------
def is_following(uow: UnitOfWork, ticket_id: int) -> bool:
    user = uow.actor.user
    return user is not None and uow.notifications.is_following(user.id, ticket_id)


def follows_ticket(uow: UnitOfWork, number: int) -> bool:
    return is_following(uow, uow.tickets.get(number).id)


def follow_ticket(uow: UnitOfWork, number: int) -> bool:
    """Follow the ticket's comments; True (already following: unchanged, no audit row)."""
    me, ticket = _me(uow), uow.tickets.get(number)
    if uow.notifications.add_follower(me.id, ticket.id, utcnow()):
        uow.audit("CREATE", "TicketFollower", ticket.id, {"after": {"userId": me.id, "following": True}},
                  ticket_number=ticket.number)
    return True


def unfollow_ticket(uow: UnitOfWork, number: int) -> bool:
    """Stop following; False (not following: unchanged, no audit row)."""
    me, ticket = _me(uow), uow.tickets.get(number)
    if uow.notifications.remove_follower(me.id, ticket.id):
        uow.audit("DELETE", "TicketFollower", ticket.id, {"before": {"userId": me.id, "following": True}},
                  ticket_number=ticket.number)
    return False


# -- the outbox handler: events become notifications and emails ------------------------------------------
@dataclass(frozen=True)
class _Ticket:
    id: int
    number: int
    subject: str


@handles("notifications", *NOTIFICATION_EVENTS)
def notify_about_event(uow: UnitOfWork, event: OutboxEvent) -> None:
    data = event.payload.get("ticket") or {}
    try:
        row = uow.tickets.get(int(data["number"]))
    except (KeyError, TypeError, ValueError, TicketNotFound):
        log.warning("event %s names no ticket of tenant %s: nobody notified", event.event_id, uow.tenant_id)
        return
    ticket = _Ticket(row.id, row.number, data.get("subject") or row.subject)
    if event.event_type == "ticket.assigned":
        _assigned(uow, event, ticket)
    elif event.event_type == "comment.created":
        _commented(uow, event, ticket, row.assignee_id)
    else:
        _sla(uow, event, ticket)


def _assigned(uow: UnitOfWork, event: OutboxEvent, ticket: _Ticket) -> None:
    assignee_id = event.payload.get("assigneeId")
    actor_id = uow.notifications.assignment_actor(ticket.id, event.created_at)
    if assignee_id is None or assignee_id == actor_id:
        return
    actor = uow.users.find(actor_id)
    by = f" by {actor.name}" if actor else ""
    people = uow.notifications.active_people([assignee_id])
    notify(uow, [p.id for p in people], event.event_type, ticket,
           f"#{ticket.number} assigned to you{by}: {ticket.subject}")
    _email(uow, event, ticket, people, headline=f"Ticket #{ticket.number} was assigned to you{by}.",
           subject_prefix=f"#{ticket.number} assigned to you")


def _commented(uow: UnitOfWork, event: OutboxEvent, ticket: _Ticket, current_assignee: int | None) -> None:
    comment = event.payload.get("comment") or {}
    author_id = comment.get("authorId")
    assignee_id = (event.payload.get("ticket") or {}).get("assigneeId", current_assignee)
    recipients = [u for u in [assignee_id, *uow.notifications.follower_ids(ticket.id)] if u != author_id]
    people = uow.notifications.active_people(recipients)
    if not people:
        return
    author = uow.users.find(author_id)
    who = author.name if author else (comment.get("author") or "Someone")
    kind = "replied to" if comment.get("public", True) else "added an internal note to"
    notify(uow, [p.id for p in people], event.event_type, ticket, f"{who} {kind} #{ticket.number}: {ticket.subject}")
    _email(uow, event, ticket, people, headline=f"{who} {kind} ticket #{ticket.number}.",
           subject_prefix=f"New comment on #{ticket.number}",
           extra={"comment_body": comment.get("body") or "", "comment_public": comment.get("public", True),
                  "comment_url_fragment": f"comment-{comment['id']}" if comment.get("id") else None})


def _sla(uow: UnitOfWork, event: OutboxEvent, ticket: _Ticket) -> None:
    """Emails only: the sweep wrote the in-app rows in its own transaction (to the same people)."""
    breach = event.event_type == "ticket.sla_breached"
    sla = event.payload.get("sla") or {}
    assignee_id = (event.payload.get("ticket") or {}).get("assigneeId")
    people = uow.notifications.active_people([assignee_id, *[u.id for u in uow.users.with_role("lead")]])
    clock = CLOCK_LABELS.get(sla.get("clock"), "SLA")
    due = _parse_time(sla.get("dueAt"))
    headline = (f"The {clock.lower()} target of ticket #{ticket.number} was missed." if breach
                else f"The {clock.lower()} target of ticket #{ticket.number} is at risk.")
    _email(uow, event, ticket, people, headline=headline,
           subject_prefix=f"SLA {'breached' if breach else 'at risk'} on #{ticket.number}",
           extra={"clock": clock, "due": mail.tenant_time(uow.tenant, due) if due else None})


def _parse_time(value) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def _email(uow: UnitOfWork, event: OutboxEvent, ticket: _Ticket, people: list[User], *, headline: str,
           subject_prefix: str, extra: dict | None = None) -> None:
    off = uow.notifications.turned_off([p.id for p in people], [event.event_type], "email")
    for person in people:
        if (person.id, event.event_type) in off:
            continue
        mail.queue_email(uow, user=person, event_id=event.event_id, event_type=event.event_type,
                         ticket_number=ticket.number, ticket_subject=ticket.subject, headline=headline,
                         subject=f"{subject_prefix}: {ticket.subject}", extra=extra or {})
