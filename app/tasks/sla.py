"""SLA jobs: the breach sweep (every SLA_SWEEP_MINUTES) and recomputing deadlines after a policy change."""
from __future__ import annotations

import logging

from flask import current_app
from huey import crontab

from app.extensions import db
from app.models import Tenant
from app.models.base import utcnow
from app.repositories.unit_of_work import Actor, UnitOfWork
from app.services import events
from app.services.sla import clocks, sweep
from app.tasks.base import job, periodic, record_tenant

log = logging.getLogger(__name__)


@periodic(crontab(minute="*"), name="sla.sweep_breaches", period_seconds=60)
def sweep_breaches() -> None:
    """Huey's crontab has no setting of its own: the job wakes every minute and sweeps on
    the minutes that SLA_SWEEP_MINUTES divides (one consumer per minute slot)."""
    every = max(1, int(current_app.config.get("SLA_SWEEP_MINUTES", 5)))
    now = utcnow()
    if (int(now.timestamp()) // 60) % every:
        return
    counts = sweep.sweep_breaches(now)
    if counts:
        log.info("sla sweep escalated %s", dict(counts))


@job(retries=3)
def process_escalation_events(event_ids: list[str], tenant_id: int | None = None) -> None:
    """Every outbox event of one sweep, handled here in turn (one queue message for all of them).
    process_event skips events and handlers already done, so a retry or the relay changes nothing."""
    record_tenant(tenant_id)
    for event_id in event_ids:
        events.process_event(event_id)


@job(retries=3)
def recompute_open_tickets(tenant_id: int) -> None:
    """After a policy or calendar change: every open ticket's deadlines, in batches. Idempotent."""
    record_tenant(tenant_id)
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        return
    done = clocks.recompute_open_tickets(lambda: UnitOfWork(tenant, Actor.system("sla recompute")))
    log.info("recomputed SLA deadlines of %d open ticket(s) of tenant %s", done, tenant_id)
