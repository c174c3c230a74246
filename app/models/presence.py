"""Who has a ticket open, and who is typing a reply on it: one row per (ticket, person), upserted."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime
from app.models.tenancy import User


class TicketPresence(db.Model):
    """A heartbeat: ``seen_at`` by every open ticket page, ``typing_at`` while its reply box is being typed in.

    Rows older than the presence window are ignored when read and pruned when written (app.services.presence).
    """

    __tablename__ = "ticket_presence"
    __table_args__ = (Index("ix_ticket_presence_tenant_seen", "tenant_id", "seen_at"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    typing_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="raise")
