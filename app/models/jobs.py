"""The durable record of background work: executions, periodic slots, processed events."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

JOB_STATES = ("queued", "running", "succeeded", "failed", "retrying")


class JobExecution(db.Model):
    """One job across its attempts: what ran, for whom, how it went."""

    __tablename__ = "job_executions"
    __table_args__ = (
        Index("ix_job_executions_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_job_executions_state_lease", "state", "lease_expires_at"),
        Index("ix_job_executions_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"))
    task_name: Mapped[str] = mapped_column(String(100))
    args: Mapped[dict] = mapped_column(JSON, default=dict)  # plain values: enough to run it again
    args_summary: Mapped[str] = mapped_column(String(255), default="")
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempt: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    duration_ms: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(String(1000))
    traceback: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # While running, the worker holds a lease; an expired lease means the worker died.
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PeriodicRun(db.Model):
    """One row per periodic task and scheduled slot: the first consumer to insert it runs the slot."""

    __tablename__ = "periodic_runs"
    __table_args__ = (UniqueConstraint("task_name", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_name: Mapped[str] = mapped_column(String(100))
    slot: Mapped[str] = mapped_column(String(32))
    claimed_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessedEvent(db.Model):
    """An outbox event handled by one handler: written with the handler's effect, so it happens once."""

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("event_id", "handler"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36))
    handler: Mapped[str] = mapped_column(String(64))
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DailyTicketStats(db.Model):
    """Per-tenant daily counts kept by the ticket job from outbox events (trend charts)."""

    __tablename__ = "daily_ticket_stats"
    __table_args__ = (UniqueConstraint("tenant_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    day: Mapped[date] = mapped_column(Date)
    created: Mapped[int] = mapped_column(default=0)
    solved: Mapped[int] = mapped_column(default=0)
    reopened: Mapped[int] = mapped_column(default=0)
    replies: Mapped[int] = mapped_column(default=0)
    notes: Mapped[int] = mapped_column(default=0)
