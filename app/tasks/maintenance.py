"""Periodic upkeep: the outbox relay, stalled-job recovery, job history retention."""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from huey import crontab

from app.observability.tracing import traced
from app.extensions import db
from app.models import OutboxEvent
from app.models.base import utcnow
from app.services import events
from app.services import jobs as job_records
from app.tasks.base import enqueue_recorded, job, periodic
from app.tasks.ticket import process_event

log = logging.getLogger(__name__)


@traced("outbox.relay")
def relay_outbox_once() -> int:
    """Send every event the queue did not get; returns how many were sent."""
    grace = current_app.config.get("OUTBOX_GRACE_SECONDS", 10)
    ids = events.pending_event_ids(utcnow() - timedelta(seconds=grace))
    if not ids:
        return 0
    tenants = dict(db.session.query(OutboxEvent.event_id, OutboxEvent.tenant_id)
                   .filter(OutboxEvent.event_id.in_(ids)).all())
    for event_id in ids:
        process_event(event_id, tenant_id=tenants.get(event_id))
    log.info("outbox relay sent %d event(s)", len(ids))
    return len(ids)


@periodic(crontab(minute="*"), name="maintenance.relay_outbox", period_seconds=60)
def relay_outbox() -> None:
    relay_outbox_once()
    relay_outbox_again.schedule(delay=30)  # the relay runs every 30 s: Huey's crontab is per minute


@job(retries=1)
def relay_outbox_again() -> None:
    relay_outbox_once()


# A job due this long ago that no worker has started is taken as lost (its queue message with it).
STALLED_GRACE_SECONDS = 60


def recover_stalled_once() -> int:
    count = 0
    # What the check saw, read before any commit (a commit expires the rows and a reload shows later states).
    seen = [(row, row.state == "running", row.attempt)
            for row in job_records.stalled_jobs(overdue_seconds=STALLED_GRACE_SECONDS)]
    for row, worker_died, attempt in seen:
        if job_records.mark_requeued(row.job_id, worker_died=worker_died, attempt=attempt):
            enqueue_recorded(row)
            count += 1
    if count:
        log.warning("requeued %d stalled job(s)", count)
    return count


@periodic(crontab(minute="*"), name="maintenance.recover_stalled_jobs", period_seconds=60)
def recover_stalled_jobs() -> None:
    recover_stalled_once()


@periodic(crontab(minute="17", hour="3"), name="maintenance.prune_job_history", period_seconds=86400)
def prune_job_history() -> None:
    removed = job_records.prune_history(current_app.config.get("JOB_RETENTION_DAYS", 14))
    log.info("pruned %d job execution(s)", removed)
