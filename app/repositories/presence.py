"""Tenant-scoped presence heartbeats on tickets: who is viewing or typing (the live poll's other reads are the
ticket repository's)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

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
