"""Tenant-scoped presence heartbeats on tickets, and the cheap reads a ticket page's live poll makes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from app.models import Comment, Ticket, TicketActivity
from app.models.presence import TicketPresence


class PresenceRepository:
    """Heartbeats are upserts: INSERT ... ON CONFLICT (tenant, ticket, user) DO UPDATE, on SQLite and PostgreSQL."""

    def __init__(self, session: Session, tenant_id: int):
        self.session = session
        self.tenant_id = tenant_id

    def _insert(self):
        dialect = self.session.get_bind().dialect.name
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(TicketPresence)

    def beat(self, ticket_id: int, user_id: int, now: datetime, *, typing: bool) -> None:
        values = {"seen_at": now, "typing_at": now} if typing else {"seen_at": now}
        stmt = self._insert().values(tenant_id=self.tenant_id, ticket_id=ticket_id, user_id=user_id,
                                     seen_at=now, typing_at=now if typing else None)
        stmt = stmt.on_conflict_do_update(index_elements=["tenant_id", "ticket_id", "user_id"], set_=values)
        self.session.execute(stmt)

    def stop_typing(self, ticket_id: int, user_id: int) -> None:
        self.session.execute(
            update(TicketPresence)
            .where(TicketPresence.tenant_id == self.tenant_id, TicketPresence.ticket_id == ticket_id,
                   TicketPresence.user_id == user_id)
            .values(typing_at=None)
        )

    def leave(self, ticket_id: int, user_id: int) -> None:
        self.session.execute(
            delete(TicketPresence).where(TicketPresence.tenant_id == self.tenant_id,
                                         TicketPresence.ticket_id == ticket_id, TicketPresence.user_id == user_id)
        )

    def prune(self, before: datetime) -> None:
        self.session.execute(
            delete(TicketPresence).where(TicketPresence.tenant_id == self.tenant_id, TicketPresence.seen_at < before)
        )

    def present(self, ticket_id: int, since: datetime) -> list[TicketPresence]:
        stmt = (
            select(TicketPresence)
            .where(TicketPresence.tenant_id == self.tenant_id, TicketPresence.ticket_id == ticket_id,
                   TicketPresence.seen_at >= since)
            .options(selectinload(TicketPresence.user))
            .order_by(TicketPresence.user_id)
        )
        return list(self.session.scalars(stmt))

    # -- what changed on a ticket, cheaply --------------------------------------------------------
    def ticket_stamp(self, number: int) -> tuple[int, datetime] | None:
        """(id, updated_at) of the tenant's ticket: all a poll needs when nothing changed."""
        row = self.session.execute(
            select(Ticket.id, Ticket.updated_at).where(Ticket.tenant_id == self.tenant_id, Ticket.number == number)
        ).first()
        return (row.id, row.updated_at) if row else None

    def comments_after(self, ticket_id: int, *, after_id: int | None = None,
                       after_time: datetime | None = None) -> list[Comment]:
        stmt = select(Comment).where(Comment.tenant_id == self.tenant_id, Comment.ticket_id == ticket_id)
        if after_id is not None:
            stmt = stmt.where(Comment.id > after_id)
        if after_time is not None:
            stmt = stmt.where(Comment.created_at > after_time)
        return list(self.session.scalars(stmt.order_by(Comment.created_at, Comment.id)
                                         .options(selectinload(Comment.author))))

    def activities_after(self, ticket_id: int, after_time: datetime) -> list[TicketActivity]:
        stmt = (
            select(TicketActivity)
            .where(TicketActivity.tenant_id == self.tenant_id, TicketActivity.ticket_id == ticket_id,
                   TicketActivity.created_at > after_time)
            .order_by(TicketActivity.created_at, TicketActivity.id)
            .options(selectinload(TicketActivity.actor))
        )
        return list(self.session.scalars(stmt))
