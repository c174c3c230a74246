"""Notifications: in-app rows, per-person preferences, ticket followers and the emails sent."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_tenant_user_created", "tenant_id", "user_id", "created_at", "id"),
        Index("ix_notifications_tenant_user_unread", "tenant_id", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    ticket_number: Mapped[int | None] = mapped_column()
    title: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# -- what each person wants to hear about, and how ------------------------------------------------
NOTIFICATION_EVENTS = ("ticket.assigned", "comment.created", "ticket.sla_warning", "ticket.sla_breached")
CHANNELS = ("in_app", "email")
EMAIL_STATUSES = ("queued", "retrying", "sent", "failed", "stored")


class NotificationPreference(db.Model):
    """One person's choice for one event and channel; without a row the event notifies (default on)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id", "event_type", "channel",
                                       name="uq_notification_preferences_tenant_user_event_channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))  # CHANNELS
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketFollower(db.Model):
    """An agent who hears about comments on a ticket they are not assigned to."""

    __tablename__ = "ticket_followers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "ticket_id", "user_id"),
        Index("ix_ticket_followers_tenant_user", "tenant_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EmailMessage(db.Model):
    """One email to one person: the durable record the send job, its retries and the email log work on.

    (tenant, event, user) is unique: one event never emails one person twice, however often
    its handler or the send job runs. The body is rendered when the row is written, so every
    attempt sends the same message under the same Message-ID.
    """

    __tablename__ = "email_messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "event_id", "user_id"),
        Index("ix_email_messages_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_email_messages_tenant_status", "tenant_id", "status", "created_at", "id"),
        Index("ix_email_messages_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    event_id: Mapped[str | None] = mapped_column(String(36))  # the outbox event's id: the idempotency key
    event_type: Mapped[str] = mapped_column(String(64))
    template: Mapped[str] = mapped_column(String(40))  # templates/email/<template>.html and .txt
    ticket_number: Mapped[int | None] = mapped_column()
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # EMAIL_STATUSES
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=6)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # an attempt is in flight
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    last_code: Mapped[int | None] = mapped_column()  # the SMTP reply code of the last failure
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
