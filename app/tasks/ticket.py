"""Ticket jobs: every outbox event of a ticket is processed by one idempotent job."""
from __future__ import annotations

import logging

from app.services import events
from app.tasks.base import job, record_tenant

log = logging.getLogger(__name__)


@job(retries=3)
def process_event(event_id: str, tenant_id: int | None = None) -> None:
    record_tenant(tenant_id)
    events.process_event(event_id)


def dispatch_committed(event_ids: list[str]) -> None:
    """After-commit hook: hand the change's events to the queue.

    If the queue is unreachable (Redis down) the request still succeeds: the
    events stay undispatched in the outbox and the periodic relay sends them.
    """
    if not event_ids:
        return
    sent = []
    try:
        from app.extensions import db
        from app.models import OutboxEvent
        from sqlalchemy import select

        rows = db.session.execute(select(OutboxEvent.event_id, OutboxEvent.tenant_id)
                                  .where(OutboxEvent.event_id.in_(event_ids))).all()
        for event_id, tenant_id in rows:
            process_event(event_id, tenant_id=tenant_id)
            sent.append(event_id)
    except Exception as exc:  # the broker is down: the relay will catch up
        log.warning("queue unavailable, %d event(s) left for the outbox relay: %s", len(event_ids) - len(sent), exc)
    if sent:
        try:
            events.mark_dispatched(sent)
        except Exception:  # marking is an optimisation: the relay may send again, the job is idempotent
            log.exception("could not mark events dispatched")
