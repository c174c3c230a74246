"""SLA policies with per-priority targets, the tenant's business calendar, and SLA history rows."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow
from app.models.tickets import PriorityType

SLA_STATES = ("none", "ok", "at_risk", "breached", "paused", "done")
SLA_CLOCKS = ("first_response", "next_reply", "resolution")


class BusinessCalendar(db.Model):
    """The tenant's working week: a time zone, opening hours per weekday and holidays."""

    __tablename__ = "business_calendars"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    hours: Mapped[list["BusinessHours"]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="(BusinessHours.weekday, BusinessHours.start_minute)"
    )
    holidays: Mapped[list["Holiday"]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="Holiday.day"
    )


class BusinessHours(db.Model):
    """One opening interval of a weekday, in local wall-clock minutes; several per day make split shifts."""

    __tablename__ = "business_hours"
    __table_args__ = (Index("ix_business_hours_tenant_calendar", "tenant_id", "calendar_id", "weekday"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    calendar_id: Mapped[int] = mapped_column(ForeignKey("business_calendars.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(SmallInteger)  # 0 = Monday … 6 = Sunday
    start_minute: Mapped[int] = mapped_column(SmallInteger)  # minutes after local midnight
    end_minute: Mapped[int] = mapped_column(SmallInteger)  # exclusive; 1440 = midnight at the end of the day


class Holiday(db.Model):
    __tablename__ = "business_holidays"
    __table_args__ = (UniqueConstraint("calendar_id", "day"), Index("ix_business_holidays_tenant_day", "tenant_id", "day"))

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    calendar_id: Mapped[int] = mapped_column(ForeignKey("business_calendars.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(120), default="")


class SlaPolicy(db.Model):
    """Targets per priority. A ticket follows the first policy whose tag it carries, else the default one."""

    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("tenant_id", "name"), Index("ix_sla_policies_tenant_default", "tenant_id", "is_default"))

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(120))
    is_default: Mapped[bool] = mapped_column(default=False)
    match_tag: Mapped[str | None] = mapped_column(String(50))
    business_hours: Mapped[bool] = mapped_column(default=True)  # False: targets count around the clock (24/7)
    warning_percent: Mapped[int] = mapped_column(SmallInteger, default=80)  # at risk once this share has elapsed
    raise_priority_on_breach: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    targets: Mapped[list["SlaTarget"]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="SlaTarget.priority"
    )

    def target(self, priority: str) -> "SlaTarget | None":
        return next((t for t in self.targets if t.priority == priority), None)


class SlaTarget(db.Model):
    __tablename__ = "sla_targets"
    __table_args__ = (UniqueConstraint("policy_id", "priority"), Index("ix_sla_targets_tenant_policy", "tenant_id", "policy_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    policy_id: Mapped[int] = mapped_column(ForeignKey("sla_policies.id", ondelete="CASCADE"))
    priority: Mapped[str] = mapped_column(PriorityType)
    first_response_minutes: Mapped[int] = mapped_column()
    next_reply_minutes: Mapped[int | None] = mapped_column()
    resolution_minutes: Mapped[int] = mapped_column()


class SlaEvent(db.Model):
    """A ticket's SLA history: clocks started, paused, resumed, warned, breached, met or missed."""

    __tablename__ = "sla_events"
    __table_args__ = (
        Index("ix_sla_events_tenant_ticket", "tenant_id", "ticket_id", "created_at", "id"),
        Index("ix_sla_events_tenant_event", "tenant_id", "event", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    clock: Mapped[str] = mapped_column(String(20))  # first_response, next_reply, resolution
    event: Mapped[str] = mapped_column(String(20))  # started, paused, resumed, warning, breached, met, missed, …
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
