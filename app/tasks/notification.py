"""Notification jobs: one attempt per ``notification.send_email`` run, and the sweeper that loses nothing.

The email row keeps the schedule (attempts, next attempt, lease), so the job
runs once (retries=1) and schedules the email's next attempt itself; the
sweeper requeues what the queue lost. Importing app.services.notifications
registers the ``notifications`` outbox handler.
"""
from __future__ import annotations

from huey import crontab

from app.services import mail
from app.services import notifications  # noqa: F401  (the outbox handler)
from app.tasks.base import job, periodic, record_tenant


@job(retries=1, name=mail.SEND_JOB)
def send_email(email_id: int) -> None:
    outcome = mail.attempt_email(email_id)
    if outcome.tenant_id is not None:
        record_tenant(outcome.tenant_id)
    if outcome.retry_at is not None:
        send_email.schedule(args=(email_id,), eta=outcome.retry_at)


def sweep_emails_once() -> int:
    ids = mail.sweep()
    for email_id in ids:
        send_email(email_id)
    return len(ids)


@periodic(crontab(minute="*"), name="notification.sweep_emails", period_seconds=60)
def sweep_emails() -> None:
    sweep_emails_once()
