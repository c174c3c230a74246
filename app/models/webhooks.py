"""Webhook endpoints of a tenant, the deliveries made to them and every attempt of a delivery.

A delivery row is the source of truth for one event sent to one endpoint: the
queue only carries its id. Its status moves pending → (retrying →)* succeeded
or dead; ``attempt_count`` doubles as the fencing token of an attempt (a late
answer from an attempt the sweeper gave up on cannot overwrite a newer one).

Signing secrets are kept here because signing needs them; they never appear
in logs, audit changes or API answers other than creation and rotation.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

EVENT_TYPES = (
    "ticket.created",
    "ticket.updated",
    "ticket.assigned",
    "ticket.status_changed",
    "comment.created",
    "ticket.sla_warning",
    "ticket.sla_breached",
)
ALL_EVENTS = "*"
TEST_EVENT = "webhook.test"
DELIVERY_STATUSES = ("pending", "retrying", "succeeded", "dead")


class WebhookEndpoint(db.Model):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        Index("ix_webhook_endpoints_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_webhook_endpoints_tenant_active", "tenant_id", "active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(500), default="")
    events: Mapped[list] = mapped_column(JSON, default=list)  # event types, or ["*"] for all
    active: Mapped[bool] = mapped_column(default=True)
    # Standard Webhooks secrets ("whsec_" + base64). During a rotation's overlap both sign.
    secret: Mapped[str] = mapped_column(String(128))
    previous_secret: Mapped[str | None] = mapped_column(String(128))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set at the first failed attempt after a success; an endpoint failing for too long is disabled.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def subscribes_to(self, event_type: str) -> bool:
        return ALL_EVENTS in (self.events or []) or event_type in (self.events or [])

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign a message sent now: the current one, then the previous during its overlap."""
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            secrets.append(self.previous_secret)
        return secrets


class WebhookDelivery(db.Model):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "endpoint_id", "event_id"),
        Index("ix_webhook_deliveries_tenant_endpoint_created", "tenant_id", "endpoint_id", "created_at", "id"),
        Index("ix_webhook_deliveries_tenant_endpoint_status", "tenant_id", "endpoint_id", "status", "id"),
        Index("ix_webhook_deliveries_tenant_endpoint_event", "tenant_id", "endpoint_id", "event_type", "id"),
        # The sweeper's instance-wide scan (like ix_job_executions_state_lease): due, unfinished deliveries.
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    # The outbox event's id (a fresh one for test events): webhook-id, the receiver's idempotency key.
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON)  # the versioned envelope sent as the body
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempt_count: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)  # raised by a manual retry: a fresh budget
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # While an attempt is in flight; an expired lease means the worker died mid-attempt.
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(500))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    endpoint: Mapped[WebhookEndpoint] = relationship(lazy="raise")


class WebhookAttempt(db.Model):
    __tablename__ = "webhook_attempts"
    __table_args__ = (
        Index("ix_webhook_attempts_tenant_delivery", "tenant_id", "delivery_id", "id"),
        Index("ix_webhook_attempts_tenant_endpoint_started", "tenant_id", "endpoint_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()  # the delivery's attempt_count when it started
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    succeeded: Mapped[bool] = mapped_column(default=False)
    status_code: Mapped[int | None] = mapped_column()
    latency_ms: Mapped[int | None] = mapped_column()
    response_body: Mapped[str | None] = mapped_column(Text)  # the first 2 KB
    error: Mapped[str | None] = mapped_column(String(500))
    request_headers: Mapped[dict] = mapped_column(JSON, default=dict)
