"""Tenant-scoped notification rows, preferences, followers and email messages.

Rows are written in bulk and read per person. Inserts that must happen once
(a preference, a follower, one email per event and person) use the database's
own ``INSERT … ON CONFLICT``, the same statement on SQLite and PostgreSQL.
The email worker's claim and settle functions at the bottom are not scoped to
a tenant: they work on one row by id, like the webhook worker's.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import (EmailMessage, Notification, NotificationPreference, Ticket, TicketActivity, TicketFollower,
                        User)
from app.repositories.pagination import Page, paginate

UNFINISHED = ("queued", "retrying")


def _upsert(session: Session, model):
    """INSERT … ON CONFLICT for the session's database (both dialects speak it)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


class NotificationRepository:
    def __init__(self, session: Session, tenant_id: int):
        self.session = session
        self.tenant_id = tenant_id

    # -- in-app rows -----------------------------------------------------------------------------
    def add_many(self, rows: list[dict]) -> None:
        if rows:
            self.session.execute(insert(Notification.__table__), [{**row, "tenant_id": self.tenant_id} for row in rows])

    def _of(self, user_id: int):
        return (Notification.tenant_id == self.tenant_id, Notification.user_id == user_id)

    def for_user(self, user_id: int, limit: int = 50) -> list[Notification]:
        stmt = (select(Notification)
                .where(*self._of(user_id))
                .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit))
        return list(self.session.scalars(stmt))

    def page_for_user(self, user_id: int, page: int, limit: int, *, unread_only: bool = False) -> Page:
        """Newest first, each row with its ticket's current subject: rows of (Notification, subject)."""
        stmt = (select(Notification, Ticket.subject)
                .outerjoin(Ticket, and_(Ticket.id == Notification.ticket_id, Ticket.tenant_id == self.tenant_id))
                .where(*self._of(user_id))
                .order_by(Notification.created_at.desc(), Notification.id.desc()))
        if unread_only:
            stmt = stmt.where(Notification.read_at.is_(None))
        return paginate(self.session, stmt, page, limit, scalars=False)

    def get_for_user(self, user_id: int, notification_id: int) -> tuple[Notification, str | None] | None:
        stmt = (select(Notification, Ticket.subject)
                .outerjoin(Ticket, and_(Ticket.id == Notification.ticket_id, Ticket.tenant_id == self.tenant_id))
                .where(*self._of(user_id), Notification.id == notification_id)
                .execution_options(populate_existing=True))  # read_at as it stands after a bulk UPDATE
        row = self.session.execute(stmt).one_or_none()
        return (row[0], row[1]) if row is not None else None

    def unread_count(self, user_id: int) -> int:
        stmt = select(func.count()).where(*self._of(user_id), Notification.read_at.is_(None))
        return self.session.scalar(stmt) or 0

    def mark_read(self, user_id: int, ids: list[int] | None, now: datetime) -> int:
        """Stamp unread rows of this person as read (all of them when ``ids`` is None); how many changed."""
        stmt = update(Notification).where(*self._of(user_id), Notification.read_at.is_(None)).values(read_at=now)
        if ids is not None:
            stmt = stmt.where(Notification.id.in_(ids))
        return self.session.execute(stmt, execution_options={"synchronize_session": False}).rowcount or 0

    # -- preferences --------------------------------------------------------------------------------
    def preferences_of(self, user_id: int) -> list[NotificationPreference]:
        stmt = select(NotificationPreference).where(NotificationPreference.tenant_id == self.tenant_id,
                                                    NotificationPreference.user_id == user_id)
        return list(self.session.scalars(stmt))

    def turned_off(self, user_ids: list[int], event_types: list[str], channel: str) -> set[tuple[int, str]]:
        """(user, event) pairs switched off for this channel, among these people and events: one query."""
        if not user_ids or not event_types:
            return set()
        stmt = select(NotificationPreference.user_id, NotificationPreference.event_type).where(
            NotificationPreference.tenant_id == self.tenant_id, NotificationPreference.channel == channel,
            NotificationPreference.enabled.is_(False), NotificationPreference.user_id.in_(user_ids),
            NotificationPreference.event_type.in_(event_types))
        return {(user_id, event_type) for user_id, event_type in self.session.execute(stmt)}

    def set_preference(self, user_id: int, event_type: str, channel: str, enabled: bool, now: datetime) -> None:
        stmt = _upsert(self.session, NotificationPreference).values(
            tenant_id=self.tenant_id, user_id=user_id, event_type=event_type, channel=channel, enabled=enabled,
            updated_at=now)
        self.session.execute(stmt.on_conflict_do_update(
            index_elements=["tenant_id", "user_id", "event_type", "channel"],
            set_={"enabled": enabled, "updated_at": now}))

    # -- followers ----------------------------------------------------------------------------------
    def follower_ids(self, ticket_id: int) -> list[int]:
        stmt = (select(TicketFollower.user_id)
                .where(TicketFollower.tenant_id == self.tenant_id, TicketFollower.ticket_id == ticket_id)
                .order_by(TicketFollower.id))
        return list(self.session.scalars(stmt))

    def is_following(self, user_id: int, ticket_id: int) -> bool:
        stmt = select(TicketFollower.id).where(TicketFollower.tenant_id == self.tenant_id,
                                               TicketFollower.ticket_id == ticket_id, TicketFollower.user_id == user_id)
        return self.session.scalar(stmt) is not None

    def add_follower(self, user_id: int, ticket_id: int, now: datetime) -> bool:
        """True when the person was not following yet."""
        stmt = (_upsert(self.session, TicketFollower)
                .values(tenant_id=self.tenant_id, ticket_id=ticket_id, user_id=user_id, created_at=now)
                .on_conflict_do_nothing(index_elements=["tenant_id", "ticket_id", "user_id"])
                .returning(TicketFollower.id))
        return self.session.execute(stmt).first() is not None

    def remove_follower(self, user_id: int, ticket_id: int) -> bool:
        stmt = delete(TicketFollower).where(TicketFollower.tenant_id == self.tenant_id,
                                            TicketFollower.ticket_id == ticket_id, TicketFollower.user_id == user_id)
        return (self.session.execute(stmt, execution_options={"synchronize_session": False}).rowcount or 0) > 0

    # -- people ---------------------------------------------------------------------------------------
    def active_people(self, user_ids) -> list[User]:
        """The active people of this tenant among ``user_ids``, in the order given."""
        ids = list(dict.fromkeys(u for u in user_ids if u is not None))
        if not ids:
            return []
        found = {user.id: user for user in self.session.scalars(
            select(User).where(User.tenant_id == self.tenant_id, User.id.in_(ids), User.active.is_(True)))}
        return [found[i] for i in ids if i in found]

    # -- who did it ---------------------------------------------------------------------------------
    def assignment_actor(self, ticket_id: int, before: datetime) -> int | None:
        """The person who made the ticket's latest assignment up to ``before`` (its activity row)."""
        stmt = (select(TicketActivity.actor_id)
                .where(TicketActivity.tenant_id == self.tenant_id, TicketActivity.ticket_id == ticket_id,
                       TicketActivity.field.in_(("assignee_id", "created")), TicketActivity.created_at <= before)
                .order_by(TicketActivity.created_at.desc(), TicketActivity.id.desc()).limit(1))
        return self.session.scalar(stmt)


class EmailRepository:
    """Email messages of one tenant: written by event handlers, read by the email log."""

    def __init__(self, session: Session, tenant_id: int):
        self.session = session
        self.tenant_id = tenant_id

    def add_once(self, values: dict) -> int | None:
        """Insert unless this (event, person) already has an email; the new row's id, or None."""
        stmt = (_upsert(self.session, EmailMessage)
                .values(tenant_id=self.tenant_id, **values)
                .on_conflict_do_nothing(index_elements=["tenant_id", "event_id", "user_id"])
                .returning(EmailMessage.id))
        row = self.session.execute(stmt).first()
        return row[0] if row is not None else None

    def get(self, email_id: int, *, for_update: bool = False) -> EmailMessage | None:
        stmt = select(EmailMessage).where(EmailMessage.tenant_id == self.tenant_id, EmailMessage.id == email_id)
        if for_update:
            stmt = stmt.with_for_update()
        return self.session.scalars(stmt.execution_options(populate_existing=True)).one_or_none()

    def page(self, *, status: str | None, page: int, limit: int) -> Page:
        stmt = (select(EmailMessage).where(EmailMessage.tenant_id == self.tenant_id)
                .order_by(EmailMessage.created_at.desc(), EmailMessage.id.desc()))
        if status:
            stmt = stmt.where(EmailMessage.status == status)
        return paginate(self.session, stmt, page, limit)

    def count_by_status(self) -> dict[str, int]:
        stmt = (select(EmailMessage.status, func.count()).where(EmailMessage.tenant_id == self.tenant_id)
                .group_by(EmailMessage.status))
        return {status: n for status, n in self.session.execute(stmt)}


# -- the send job's hot path: one row by id, any tenant ------------------------------------------------
_M = EmailMessage.__table__


def claim_email(session: Session, email_id: int, now: datetime, due_before: datetime, lease_until: datetime):
    """Take the next attempt of an unfinished, due email that no worker holds: one conditional
    UPDATE (attempts is the fencing token). The row's sending columns, or None when the email is
    done, not due, in flight elsewhere or out of attempts."""
    stmt = (update(_M)
            .where(_M.c.id == email_id, _M.c.status.in_(UNFINISHED), _M.c.attempts < _M.c.max_attempts,
                   or_(_M.c.lease_expires_at.is_(None), _M.c.lease_expires_at <= now),
                   or_(_M.c.next_attempt_at.is_(None), _M.c.next_attempt_at <= due_before))
            .values(attempts=_M.c.attempts + 1, lease_expires_at=lease_until, last_attempt_at=now, updated_at=now)
            .returning(_M.c.id, _M.c.tenant_id, _M.c.attempts, _M.c.max_attempts, _M.c.recipient, _M.c.subject,
                       _M.c.body_text, _M.c.body_html, _M.c.message_id))
    return session.execute(stmt).one_or_none()


def settle_email(session: Session, email_id: int, attempt: int, **values) -> bool:
    """Write an attempt's outcome unless a newer attempt owns the row (then False)."""
    stmt = (update(_M).where(_M.c.id == email_id, _M.c.attempts == attempt, _M.c.status.in_(UNFINISHED))
            .values(lease_expires_at=None, **values))
    return session.execute(stmt).rowcount == 1


def due_emails(session: Session, now: datetime, queued_before: datetime, limit: int) -> list[EmailMessage]:
    """Unfinished emails whose attempt is due and not in flight: an expired lease (the worker died),
    or no lease and due since before ``queued_before`` (the queue lost the job)."""
    due_at = func.coalesce(EmailMessage.next_attempt_at, EmailMessage.created_at)
    stmt = (select(EmailMessage)
            .where(EmailMessage.status.in_(UNFINISHED),
                   or_(and_(EmailMessage.lease_expires_at.is_not(None), EmailMessage.lease_expires_at < now),
                       and_(EmailMessage.lease_expires_at.is_(None), due_at <= queued_before)))
            .order_by(due_at, EmailMessage.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.scalars(stmt))
