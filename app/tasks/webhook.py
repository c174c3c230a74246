"""Webhook jobs: one attempt per ``webhook.deliver`` run, and the sweeper that loses nothing.

The delivery row keeps the schedule (attempts, next attempt, dead-letter), so
the job runs once (retries=1) and schedules the delivery's next attempt itself.
Its job record carries no tenant (saving a write per delivery, the hot path):
each attempt is on the webhook console, which is per tenant.
"""
from __future__ import annotations

import logging

from huey import crontab

from app.services.webhooks import attempts
from app.services.webhooks.deliveries import DELIVER_JOB
from app.tasks.base import job, periodic

log = logging.getLogger(__name__)


@job(retries=1, name=DELIVER_JOB)
def deliver(delivery_id: int) -> None:
    outcome = attempts.attempt_delivery(delivery_id)
    if outcome.retry_at is not None:
        deliver.schedule(args=(delivery_id,), eta=outcome.retry_at)


def sweep_deliveries_once() -> int:
    ids = attempts.sweep()
    for delivery_id in ids:
        deliver(delivery_id)
    return len(ids)


@periodic(crontab(minute="*"), name="webhook.sweep_deliveries", period_seconds=60)
def sweep_deliveries() -> None:
    sweep_deliveries_once()
