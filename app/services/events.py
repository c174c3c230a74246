"""Handling outbox events: each handler's effect happens once per event.

A handler runs in a unit of work together with a ProcessedEvent row keyed by
(event id, handler name). If the job runs twice (a retry, a relay, a worker
killed after commit) the second run finds the row and skips: the effect
happens once. Later capabilities (webhooks, notifications, search) register
their handlers here.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import DailyTicketStats, OutboxEvent, ProcessedEvent, Tenant
from app.models.base import utcnow
from app.repositories.jobs import OutboxRepository
from app.repositories.unit_of_work import Actor, UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Handler:
    name: str
    event_types: frozenset[str]
    run: Callable[[UnitOfWork, OutboxEvent], None]


HANDLERS: list[Handler] = []


def handles(name: str, *event_types: str):
    def register(fn):
        HANDLERS.append(Handler(name, frozenset(event_types), fn))
        return fn

    return register


def process_event(event_id: str) -> int:
    """Run every handler of this event that has not run yet; returns how many ran."""
    outbox = OutboxRepository(db.session)
    event = outbox.get(event_id)
    if event is None or event.processed_at is not None:
        return 0
    tenant = db.session.get(Tenant, event.tenant_id)
    ran = 0
    for handler in HANDLERS:
        if event.event_type not in handler.event_types or outbox.handled(event_id, handler.name):
            continue
        with UnitOfWork(tenant, Actor.system(f"job:{handler.name}")) as uow:
            if OutboxRepository(uow.session).handled(event_id, handler.name):  # re-check under the write lock
                continue
            handler.run(uow, event)
            uow.session.add(ProcessedEvent(event_id=event_id, handler=handler.name, tenant_id=event.tenant_id))
            uow.commit()
            ran += 1
    with UnitOfWork(tenant, Actor.system("outbox")) as uow:
        uow.session.execute(update(OutboxEvent).where(OutboxEvent.event_id == event_id,
                                                      OutboxEvent.processed_at.is_(None))
                            .values(processed_at=utcnow()))
        uow.commit()
    return ran


def pending_event_ids(older_than: datetime, limit: int = 500) -> list[str]:
    """Claim events the queue never got (or lost), mark them dispatched, return their ids."""
    from app.repositories.sqlite import begin_write

    begin_write(db.session)
    outbox = OutboxRepository(db.session)
    events = outbox.claim_undispatched(older_than, limit)
    ids = [e.event_id for e in events]
    outbox.mark_dispatched(ids)
    db.session.commit()
    return ids


def mark_dispatched(event_ids: list[str]) -> None:
    from app.repositories.sqlite import begin_write

    begin_write(db.session)
    OutboxRepository(db.session).mark_dispatched(event_ids)
    db.session.commit()


def outbox_backlog() -> int:
    return OutboxRepository(db.session).backlog()


# -- the ticket job's own effect: daily counts per tenant ---------------------------
@handles("daily_stats", "ticket.created", "ticket.status_changed", "comment.created")
def record_daily_stats(uow: UnitOfWork, event: OutboxEvent) -> None:
    day = event.created_at.date()
    _ensure_daily_row(uow, day)
    payload = event.payload
    column = None
    if event.event_type == "ticket.created":
        column = "created"
    elif event.event_type == "ticket.status_changed":
        if payload.get("to") == "solved":
            column = "solved"
        elif payload.get("from") in ("solved",) and payload.get("to") == "open":
            column = "reopened"
    elif event.event_type == "comment.created":
        column = "replies" if payload.get("comment", {}).get("public") else "notes"
    if column is not None:
        # One atomic UPDATE: two workers counting events of the same day must not
        # overwrite each other (a read-then-write lost updates on PostgreSQL).
        uow.session.execute(update(DailyTicketStats)
                            .where(DailyTicketStats.tenant_id == uow.tenant_id, DailyTicketStats.day == day)
                            .values({column: getattr(DailyTicketStats, column) + 1}))


def _ensure_daily_row(uow: UnitOfWork, day) -> None:
    """The tenant's row of the day; when another worker inserts it first, its row is used."""
    exists = uow.session.scalar(select(DailyTicketStats.id).where(DailyTicketStats.tenant_id == uow.tenant_id,
                                                                  DailyTicketStats.day == day))
    if exists is not None:
        return
    try:
        with uow.session.begin_nested():
            uow.session.add(DailyTicketStats(tenant_id=uow.tenant_id, day=day, created=0, solved=0, reopened=0,
                                             replies=0, notes=0))
    except IntegrityError:
        pass  # (tenant, day) is unique: the other insert won; the caller's UPDATE waits for its commit
