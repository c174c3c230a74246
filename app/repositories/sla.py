"""Tenant-scoped SLA queries: policies, the business calendar, history rows and the sweep's marking."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, exists, func, insert, or_, select, text, update
from sqlalchemy.orm import Session, selectinload

from app.errors import NotFound
from app.models import BusinessCalendar, OutboxEvent, SlaEvent, SlaPolicy, Tenant, Ticket, TicketTag
from app.models.tickets import OPEN_STATUSES



@dataclass(frozen=True)
class Alarm:
    """One kind of escalation the sweep fires: which alarm column, which marker, what it means."""

    name: str  # reply_warning, reply_breach, resolution_warning, resolution_breach
    clock: str  # "reply" or "resolution"
    kind: str  # "warning" or "breach"

    @property
    def alarm_column(self):
        return getattr(Ticket, f"{self.clock}_{'warn' if self.kind == 'warning' else 'breach'}_at")

    def values(self) -> dict:
        """What firing sets: the alarm is spent, the marker set, the state moved."""
        if self.kind == "breach":
            return {f"{self.clock}_breach_at": None, f"{self.clock}_breached": True,
                    f"{self.clock}_warn_at": None, f"{self.clock}_warned": True,  # no warning after the breach
                    "sla_state": "breached"}
        return {f"{self.clock}_warn_at": None, f"{self.clock}_warned": True,
                "sla_state": case((Ticket.sla_state.in_(("ok", "paused")), "at_risk"), else_=Ticket.sla_state)}


# What firing returns: enough for the history row, the notification and the event payload.
RETURNED = (Ticket.id, Ticket.number, Ticket.subject, Ticket.status, Ticket.priority, Ticket.requester_name,
            Ticket.requester_email, Ticket.assignee_id, Ticket.created_at, Ticket.updated_at, Ticket.sla_policy_id,
            Ticket.first_response_at, Ticket.reply_due_at, Ticket.resolution_due_at)

# Breaches first: a breach spends the warning of the same clock, so one sweep never sends both.
ALARMS = (
    Alarm("reply_breach", "reply", "breach"),
    Alarm("resolution_breach", "resolution", "breach"),
    Alarm("reply_warning", "reply", "warning"),
    Alarm("resolution_warning", "resolution", "warning"),
)


class SlaRepository:
    def __init__(self, session: Session, tenant_id: int):
        self.session = session
        self.tenant_id = tenant_id
        self.cache: dict = {}  # per unit of work: the tenant's policies and schedules, built once

    # -- policies and calendar -----------------------------------------------------------
    def policies(self) -> list[SlaPolicy]:
        stmt = select(SlaPolicy).where(SlaPolicy.tenant_id == self.tenant_id).order_by(SlaPolicy.name, SlaPolicy.id)
        return list(self.session.scalars(stmt))

    def get_policy(self, policy_id: int, *, for_update: bool = False) -> SlaPolicy:
        stmt = select(SlaPolicy).where(SlaPolicy.tenant_id == self.tenant_id, SlaPolicy.id == policy_id)
        if for_update:
            stmt = stmt.with_for_update(of=SlaPolicy)
        policy = self.session.scalar(stmt)
        if policy is None:
            raise NotFound("SlaPolicy", policy_id)
        return policy

    def add_policy(self, policy: SlaPolicy) -> SlaPolicy:
        policy.tenant_id = self.tenant_id
        for target in policy.targets:
            target.tenant_id = self.tenant_id
        self.session.add(policy)
        return policy

    def delete_policy(self, policy: SlaPolicy) -> None:
        self.session.delete(policy)

    def calendar(self) -> BusinessCalendar | None:
        stmt = (select(BusinessCalendar).where(BusinessCalendar.tenant_id == self.tenant_id)
                .options(selectinload(BusinessCalendar.hours), selectinload(BusinessCalendar.holidays)))
        return self.session.scalar(stmt)

    def add_calendar(self, calendar: BusinessCalendar) -> BusinessCalendar:
        calendar.tenant_id = self.tenant_id
        self.session.add(calendar)
        return calendar

    # -- history ---------------------------------------------------------------------------
    def add_events(self, rows: list[dict]) -> None:
        if rows:  # table-level insert: one executemany, no ORM bookkeeping per row
            self.session.execute(insert(SlaEvent.__table__), [{**row, "tenant_id": self.tenant_id} for row in rows])

    def add_outbox_events(self, rows: list[dict]) -> None:
        """The sweep's outbox rows in one INSERT (UnitOfWork.emit adds ORM objects one by one)."""
        if rows:
            self.session.execute(insert(OutboxEvent.__table__), [{**row, "tenant_id": self.tenant_id} for row in rows])

    def events_for(self, ticket: Ticket) -> list[SlaEvent]:
        stmt = (select(SlaEvent).where(SlaEvent.tenant_id == self.tenant_id, SlaEvent.ticket_id == ticket.id)
                .order_by(SlaEvent.created_at, SlaEvent.id))
        return list(self.session.scalars(stmt))

    # -- tickets whose deadlines a policy or calendar change moves ---------------------------
    def open_tickets_after(self, last_id: int, limit: int) -> list[Ticket]:
        stmt = (select(Ticket)
                .where(Ticket.tenant_id == self.tenant_id, Ticket.id > last_id, Ticket.status.in_(OPEN_STATUSES))
                .order_by(Ticket.id).limit(limit).options(selectinload(Ticket.tag_rows)))
        return list(self.session.scalars(stmt.with_for_update(of=Ticket)))

    def tags_of(self, ids: list[int]) -> dict[int, list[str]]:
        """{ticket id: sorted tags} without loading tickets (the sweep builds event payloads from rows)."""
        tags: dict[int, list[str]] = {}
        for chunk in range(0, len(ids), 500):
            stmt = (select(TicketTag.ticket_id, TicketTag.tag)
                    .where(TicketTag.tenant_id == self.tenant_id, TicketTag.ticket_id.in_(ids[chunk:chunk + 500]))
                    .order_by(TicketTag.ticket_id, TicketTag.tag))
            for ticket_id, tag in self.session.execute(stmt):
                tags.setdefault(ticket_id, []).append(tag)
        return tags

    # -- the sweep ------------------------------------------------------------------------
    def lock_sweep(self) -> None:
        """Serialise this tenant's sweeps. SQLite: the write transaction already does.
        PostgreSQL: a transaction-scoped advisory lock, so two sweeps never lock the same
        ticket rows in different orders (no deadlock); ticket writers never take it."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": 0x51A0000 + self.tenant_id})

    def fire(self, alarm: Alarm, now: datetime) -> list:
        """Spend every alarm of this kind that passed before ``now`` in one UPDATE … RETURNING: the rows it
        returns are exactly the tickets this transaction escalates (a concurrent sweep finds
        the alarm already spent once this one commits)."""
        stmt = (
            update(Ticket)
            .where(Ticket.tenant_id == self.tenant_id, alarm.alarm_column < now)
            .values(alarm.values())
            .returning(*RETURNED)
            .execution_options(synchronize_session=False)
        )
        rows = list(self.session.execute(stmt))
        fired = {row.id for row in rows}
        for obj in list(self.session.identity_map.values()):  # loaded copies are stale now
            if isinstance(obj, Ticket) and obj.id in fired:
                self.session.expire(obj)
        return rows

    def due_counts(self, now: datetime) -> dict[str, int]:
        """How many alarms of each kind are due (tests and the benchmark)."""
        return {a.name: self.session.scalar(select(func.count()).where(Ticket.tenant_id == self.tenant_id,
                                                                      a.alarm_column < now)) or 0
                for a in ALARMS}


def tenants_with_due_alarms(session: Session, now: datetime) -> list[int]:
    """Tenants that have at least one alarm due: the sweep visits only those."""
    due = [exists().where(Ticket.tenant_id == Tenant.id, alarm.alarm_column < now) for alarm in ALARMS]
    return list(session.scalars(select(Tenant.id).where(or_(*due)).order_by(Tenant.id)))
