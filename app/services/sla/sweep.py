"""The breach sweep: set-based marking, then exactly one escalation per fired alarm.

For each tenant with an alarm due, one unit of work:

1. ``UPDATE tickets SET <alarm> = NULL, <marker> = true, sla_state = … WHERE
   tenant_id = :t AND <alarm> <= :now RETURNING …`` for each alarm kind
   (breaches first; a breach spends the same clock's warning);
2. for exactly the returned rows: an SLA history row, in-app notifications to
   the assignee and the tenant's leads, an outbox event ``ticket.sla_breached``
   or ``ticket.sla_warning``, and, when the policy says so, one step up in
   priority for a breach;
3. one audit row for the tenant's sweep (``SLA_SWEEP``: how many alarms of each
   kind, which tickets): the marking changes tickets' SLA columns, and every
   change to a ticket moves the tenant's audit chain, which is what the
   remembered totals and list pages are keyed by
   (app/repositories/ticket_counts.py);
4. commit: marking and escalation land together or not at all.

The outbox rows are written in one INSERT and handed to the queue as one job
(``sla.process_escalation_events``) rather than one enqueue per event: a sweep
may escalate hundreds of tickets. They are stamped dispatched; should that job
be lost, the outbox relay sends them again once its grace period has passed
(it re-sends dispatched events that were never processed).

Two sweeps at once (two consumers, a manual run) cannot both escalate a
ticket: the second UPDATE waits for the first transaction's row locks
(PostgreSQL, plus a per-tenant advisory lock against lock-order deadlocks) or
its write lock (SQLite), then finds the alarm already spent.
"""
from __future__ import annotations

import uuid
from collections import Counter
from types import SimpleNamespace
from datetime import datetime

from app.observability.metrics import SLA_EVENTS
from app.observability.tracing import traced
from app.extensions import db
from app.models import Tenant
from app.models.base import utcnow
from app.models.tickets import PRIORITIES
from app.repositories.sla import ALARMS, tenants_with_due_alarms
from app.repositories.unit_of_work import Actor, UnitOfWork
from app.services.notifications import Notice, notify_many
from app.services.sla.policies import tenant_sla

CLOCK_LABELS = {"first_response": "First response", "next_reply": "Next reply", "resolution": "Resolution"}
EVENT_TYPES = {"breach": "ticket.sla_breached", "warning": "ticket.sla_warning"}
PROCESS_JOB = "sla.process_escalation_events"
AUDITED_NUMBERS = 500  # the sweep's audit row names this many tickets, then says how many more


@traced("sla.sweep")
def sweep_breaches(now: datetime | None = None) -> Counter:
    """Mark and escalate every due alarm of every tenant; returns counts per alarm kind."""
    now = now or utcnow()
    totals: Counter = Counter()
    for tenant_id in tenants_with_due_alarms(db.session, now):
        tenant = db.session.get(Tenant, tenant_id)
        with UnitOfWork(tenant, Actor.system("sla sweep")) as uow:
            totals.update(sweep_tenant(uow, now))
            uow.commit()
    db.session.rollback()  # end the read snapshot of a sweep that found nothing
    for kind, count in totals.items():
        SLA_EVENTS.labels(kind=str(kind)).inc(count)
    return totals


def sweep_tenant(uow: UnitOfWork, now: datetime) -> Counter:
    from app.services.tickets import ticket_payload, update_ticket  # the ticket service imports the SLA clocks

    uow.sla.lock_sweep()
    fired = [(alarm, row) for alarm in ALARMS for row in uow.sla.fire(alarm, now)]
    if not fired:
        return Counter()
    tags = uow.sla.tags_of(sorted({row.id for _, row in fired}))
    leads = [user.id for user in uow.users.with_role("lead")]
    setup = tenant_sla(uow)
    history, notices, outbox, raise_priority, counts = [], [], [], [], Counter()
    for alarm, row in fired:
        ticket = SimpleNamespace(**row._mapping, tags=tags.get(row.id, []))  # what ticket_payload reads
        clock = "resolution" if alarm.clock == "resolution" else (
            "first_response" if row.first_response_at is None else "next_reply")
        due = row.resolution_due_at if alarm.clock == "resolution" else row.reply_due_at
        breach = alarm.kind == "breach"
        history.append({"ticket_id": row.id, "clock": clock, "event": "breached" if breach else "warning",
                        "due_at": due, "detail": {}, "created_at": now})
        title = f"#{row.number} {CLOCK_LABELS[clock]} {'target missed' if breach else 'at risk'}: {ticket.subject}"
        notices.append(Notice([row.assignee_id, *leads], EVENT_TYPES[alarm.kind], row, title))
        outbox.append({"event_id": str(uuid.uuid4()), "event_type": EVENT_TYPES[alarm.kind], "payload": {
            "ticket": ticket_payload(ticket),
            "sla": {"clock": clock, "dueAt": due.isoformat() if due else None, "at": now.isoformat()},
        }, "created_at": now, "dispatched_at": now, "attempts": 1})
        policy = setup.policy(row.sla_policy_id)
        if breach and policy is not None and policy.raise_priority_on_breach and ticket.priority != PRIORITIES[-1]:
            raise_priority.append((row.number, row.priority))
        counts[alarm.name] += 1
    uow.sla.add_events(history)
    numbers = sorted({row.number for _, row in fired})
    uow.audit("SLA_SWEEP", "Ticket", None, {"after": {
        **{name: counts[name] for name in sorted(counts)}, "tickets": numbers[:AUDITED_NUMBERS],
        **({"more_tickets": len(numbers) - AUDITED_NUMBERS} if len(numbers) > AUDITED_NUMBERS else {})}})
    notify_many(uow, notices)
    uow.sla.add_outbox_events(outbox)
    uow.enqueue_after_commit(PROCESS_JOB, [row["event_id"] for row in outbox], uow.tenant_id)
    uow.session.flush()
    for number, priority in dict.fromkeys(raise_priority):  # one step per ticket and sweep, via the ticket rules
        update_ticket(uow, number, {"priority": PRIORITIES[PRIORITIES.index(priority) + 1]})
        counts["priority_raised"] += 1
    return counts
