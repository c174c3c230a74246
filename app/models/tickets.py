"""Tickets, their tags, comments and change feed."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow
from app.models.tenancy import User

STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")
OPEN_STATUSES = ("new", "open", "pending", "on_hold")  # not yet solved or closed
PRIORITIES = ("low", "normal", "high", "urgent")


class PriorityType(TypeDecorator):
    """Priority names in Python, their rank in the database: sorting is an index scan."""

    impl = SmallInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else PRIORITIES.index(value)

    def process_result_value(self, value, dialect):
        return None if value is None else PRIORITIES[value]


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        Index("ix_tickets_tenant_updated", "tenant_id", "updated_at", "id"),
        Index("ix_tickets_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_tickets_tenant_priority", "tenant_id", "priority", "updated_at", "id"),
        Index("ix_tickets_tenant_priority_id", "tenant_id", "priority", "id"),  # the priority sort (0010)
        Index("ix_tickets_tenant_status", "tenant_id", "status", "updated_at", "id"),
        Index("ix_tickets_tenant_assignee", "tenant_id", "assignee_id", "updated_at", "id"),
        # Counts of a person's (or nobody's) unsolved tickets: the queue's default views (migration 0008).
        Index("ix_tickets_tenant_assignee_status", "tenant_id", "assignee_id", "status"),
        # SLA: the queue's "due soonest", the dashboard's lists, and one index per sweep alarm.
        Index("ix_tickets_tenant_sla_due", "tenant_id", "sla_due_at", "id"),
        Index("ix_tickets_tenant_sla_state", "tenant_id", "sla_state", "sla_due_at"),
        Index("ix_tickets_tenant_reply_warn", "tenant_id", "reply_warn_at"),
        Index("ix_tickets_tenant_reply_breach", "tenant_id", "reply_breach_at"),
        Index("ix_tickets_tenant_resolution_warn", "tenant_id", "resolution_warn_at"),
        Index("ix_tickets_tenant_resolution_breach", "tenant_id", "resolution_breach_at"),
        Index("ix_tickets_tenant_first_response", "tenant_id", "first_response_at"),
        Index("ix_tickets_tenant_resolved", "tenant_id", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    number: Mapped[int] = mapped_column()
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="new")
    priority: Mapped[str] = mapped_column(PriorityType, default="normal")
    requester_name: Mapped[str] = mapped_column(String(120))
    requester_email: Mapped[str] = mapped_column(String(254))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    solved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # SLA (rules in docs/sla.md; kept by app.services.sla.clocks, the sweep sets the markers).
    sla_policy_id: Mapped[int | None] = mapped_column(ForeignKey("sla_policies.id", ondelete="SET NULL"))
    sla_state: Mapped[str] = mapped_column(String(16), default="none")  # app.models.sla.SLA_STATES
    sla_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # nearest running deadline
    first_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_met: Mapped[bool | None] = mapped_column()
    first_response_minutes: Mapped[int | None] = mapped_column()  # counted minutes to the first response
    awaiting_reply_since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # next-reply clock start
    reply_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # running reply clock (first or next)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_met: Mapped[bool | None] = mapped_column()
    resolution_minutes: Mapped[int | None] = mapped_column()  # counted minutes to resolution, pauses excluded
    sla_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_paused_minutes: Mapped[int] = mapped_column(default=0)
    reply_warned: Mapped[bool] = mapped_column(default=False)
    reply_breached: Mapped[bool] = mapped_column(default=False)
    resolution_warned: Mapped[bool] = mapped_column(default=False)
    resolution_breached: Mapped[bool] = mapped_column(default=False)
    # Alarms: when the sweep escalates next; NULL once escalated or while the clock stands still.
    reply_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_breach_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_breach_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    assignee: Mapped[User | None] = relationship(lazy="raise")
    tag_rows: Mapped[list["TicketTag"]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="TicketTag.tag"
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class TicketTag(db.Model):
    __tablename__ = "ticket_tags"
    __table_args__ = (Index("ix_ticket_tags_tenant_tag", "tenant_id", "tag", "ticket_id"),)

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))


class Comment(db.Model):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_tenant_ticket", "tenant_id", "ticket_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship(lazy="raise")
    ticket: Mapped[Ticket] = relationship(lazy="raise")


class TicketActivity(db.Model):
    """A ticket's own change feed: who changed which field, from what, to what."""

    __tablename__ = "ticket_activities"
    __table_args__ = (Index("ix_ticket_activities_tenant_ticket", "tenant_id", "ticket_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(String(255))
    new_value: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship(lazy="raise")
