"""Events written in the same transaction as the change that caused them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class OutboxEvent(db.Model):
    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_events_pending", "processed_at", "dispatched_at", "id"),
        Index("ix_outbox_events_tenant_created", "tenant_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable public id: the idempotency key receivers and jobs see.
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Handed to the queue (after commit, or by the relay); processed by the job.
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
