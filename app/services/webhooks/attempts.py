"""The worker's side of a delivery: claim, send, record; disabling failing endpoints; the sweeper.

An attempt is three short steps, none holding a write lock during the HTTP call:

1. claim: in one short write transaction, read the delivery and its
   endpoint, then one conditional UPDATE takes attempt ``n + 1`` (``attempt_count`` is the fencing token) and sets a
   lease while the attempt is in flight; a worker that loses the race, or finds
   the delivery done, not due or in flight, does nothing;
2. send the signed POST (transport.py);
3. record: insert the attempt row and settle the delivery, unless a newer
   attempt owns it (the sweeper took over after the lease expired).

Outcomes: 2xx → ``succeeded``; timeout, connection error, 429 or 5xx →
``retrying`` at the next step of WEBHOOK_RETRY_SCHEDULE (±10 % jitter, or
Retry-After when longer) until ``max_attempts`` → ``dead``; any other answer
(3xx: never followed, 4xx) or a refused address → ``dead`` at once; 410 Gone
also disables the endpoint. An endpoint failing for WEBHOOK_DISABLE_AFTER_DAYS
is disabled and its admins notified.

The sweeper (each minute) requeues what is due and not in flight: an expired
lease (the worker died mid-attempt: that attempt is recorded as lost) or a
due time more than SWEEP_GRACE_SECONDS ago (the queue lost the message). A
worker killed mid-delivery delays a delivery; it never drops it. Receivers may
see an event twice: the webhook-id header is their idempotency key.
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus

from app.observability.tracing import traced
from app.extensions import db
from app.models import Tenant, WebhookAttempt, WebhookEndpoint
from app.models.base import utcnow
from app.observability.metrics import WEBHOOK_DELIVERIES, WEBHOOK_SECONDS
from app.repositories.sqlite import begin_write
from app.repositories.unit_of_work import Actor, UnitOfWork
from app.repositories.webhooks import (UNFINISHED, add_attempt, attempt_snapshot, claim_delivery, due_deliveries,
                                       mark_dead_for_inactive, set_failing_since, settle_delivery)
from app.services.webhooks import signing, transport
from app.services.webhooks.envelope import body_bytes
from app.services.webhooks.settings import WebhookSettings, current_settings

log = logging.getLogger(__name__)

SWEEP_GRACE_SECONDS = 60  # a due delivery without a lease is taken for lost after this long
SWEEP_BATCH = 500
EARLY_SECONDS = 2.0  # a job may run this much before the due time (clock and scheduler slack)
MAX_RETRY_AFTER = 86400.0
LOST = "No result within the lease: the worker stopped or stalled during this attempt."


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    tenant_id: int
    endpoint_id: int
    number: int  # this attempt's number: the delivery's attempt_count once claimed
    max_attempts: int
    started_at: datetime
    url: str
    secrets: tuple[str, ...]
    msg_id: str
    body: bytes
    endpoint_failing_since: datetime | None


@dataclass(frozen=True)
class Outcome:
    tenant_id: int | None
    retry_at: datetime | None = None  # the job schedules the next attempt for then


@traced("webhook.delivery_attempt")
def attempt_delivery(delivery_id: int) -> Outcome:
    """Claim, send, record: what the ``webhook.deliver`` job does."""
    settings = current_settings()
    claim = claim_attempt(delivery_id, settings)
    if claim is None:
        return Outcome(tenant_id=None)
    result = send(claim, settings)
    return Outcome(tenant_id=claim.tenant_id, retry_at=record_attempt(claim, result, settings))


# -- 1. claim -------------------------------------------------------------------------------------
def claim_attempt(delivery_id: int, settings: WebhookSettings) -> Claim | None:
    """Take the delivery for one attempt, or None when it is done, in flight elsewhere or not due."""
    session, now = db.session, utcnow()
    begin_write(session)  # one short write transaction: the read, then the conditional update
    row = attempt_snapshot(session, delivery_id)
    if (row is None or row.status not in UNFINISHED
            or (row.lease_expires_at is not None and row.lease_expires_at > now)
            or (row.next_attempt_at is not None and row.next_attempt_at > now + timedelta(seconds=EARLY_SECONDS))):
        session.rollback()
        return None
    if not row.active or row.attempt_count >= row.max_attempts:
        reason = ("Not sent: the endpoint is inactive." if not row.active
                  else "Attempts used up (the last one was lost with its worker).")
        settle_delivery(session, row.id, row.attempt_count, **_finished("dead", now, reason))
        session.commit()
        return None
    lease = now + timedelta(seconds=settings.lease_seconds)
    claimed = claim_delivery(session, row.id, row.attempt_count, now, lease)
    session.commit()
    if not claimed:
        return None
    secrets = [row.secret]
    if row.previous_secret and row.previous_secret_expires_at and row.previous_secret_expires_at > now:
        secrets.append(row.previous_secret)
    return Claim(delivery_id=row.id, tenant_id=row.tenant_id, endpoint_id=row.endpoint_id,
                 number=row.attempt_count + 1, max_attempts=row.max_attempts, started_at=now, url=row.url,
                 secrets=tuple(secrets), msg_id=row.event_id, body=body_bytes(row.payload),
                 endpoint_failing_since=row.failing_since)


# -- 2. send ---------------------------------------------------------------------------------------
def send(claim: Claim, settings: WebhookSettings) -> transport.AttemptResult:
    headers = signing.signed_headers(list(claim.secrets), claim.msg_id, int(time.time()), claim.body)
    return transport.post(claim.url, claim.body, headers, timeout=settings.timeout,
                          allowed_hosts=settings.allowed_hosts)


# -- 3. record --------------------------------------------------------------------------------------
def retryable(result: transport.AttemptResult) -> bool:
    if result.refused:
        return False
    if result.status_code is None:
        return True  # timeout, connection refused or reset, DNS failure
    return result.status_code == 429 or result.status_code >= 500


def retry_delay(settings: WebhookSettings, attempt: int, max_attempts: int, retry_after: float | None) -> float:
    """The schedule's step after this attempt (±10 % jitter); Retry-After wins when longer."""
    schedule = settings.schedule
    step = len(schedule) - (max_attempts - attempt)
    delay = schedule[min(max(step, 0), len(schedule) - 1)] * random.uniform(0.9, 1.1)
    if retry_after is not None and retry_after > delay:
        delay = min(retry_after, MAX_RETRY_AFTER)
    return delay


def describe_failure(result: transport.AttemptResult) -> str:
    if result.status_code is None:
        return (result.error or "No answer")[:500]
    try:
        phrase = HTTPStatus(result.status_code).phrase
    except ValueError:
        phrase = ""
    text = f"HTTP {result.status_code} {phrase}".strip()
    if 300 <= result.status_code < 400:
        text = f"Redirect not followed: {text}" + (f" to {result.location}" if result.location else "")
    return text[:500]


def _finished(status: str, now: datetime, error: str | None, status_code: int | None = None) -> dict:
    return dict(status=status, next_attempt_at=None, completed_at=now, updated_at=now, last_error=error,
                last_status_code=status_code)


def record_attempt(claim: Claim, result: transport.AttemptResult, settings: WebhookSettings) -> datetime | None:
    """Write the attempt and settle the delivery; the time of the next attempt, if any."""
    now = utcnow()
    retry_at, disable_reason, error = None, None, None
    if result.succeeded:
        values = _finished("succeeded", now, None, result.status_code)
    else:
        error = describe_failure(result)
        failing_since = claim.endpoint_failing_since or now
        if result.status_code == 410:
            disable_reason = "The receiver answered 410 Gone."
        elif failing_since <= now - timedelta(days=settings.disable_after_days):
            disable_reason = f"Every delivery failed for {settings.disable_after_days:g} days."
        if disable_reason is None and retryable(result) and claim.number < claim.max_attempts:
            retry_at = now + timedelta(seconds=retry_delay(settings, claim.number, claim.max_attempts,
                                                           result.retry_after))
            values = dict(status="retrying", next_attempt_at=retry_at, completed_at=None, updated_at=now,
                          last_error=error, last_status_code=result.status_code)
        else:
            values = _finished("dead", now, error, result.status_code)
    attempt = dict(tenant_id=claim.tenant_id, delivery_id=claim.delivery_id, endpoint_id=claim.endpoint_id,
                   number=claim.number, started_at=claim.started_at, succeeded=result.succeeded,
                   status_code=result.status_code, latency_ms=result.latency_ms, response_body=result.response_body,
                   error=error, request_headers=result.request_headers)
    WEBHOOK_DELIVERIES.labels(outcome=values["status"]).inc()  # the delivery's status after this attempt
    if result.latency_ms is not None:
        WEBHOOK_SECONDS.observe(result.latency_ms / 1000)
    if disable_reason is not None:
        _record_and_disable(claim, attempt, values, disable_reason, now)
        return None

    session = db.session
    begin_write(session)
    add_attempt(session, **attempt)
    current = settle_delivery(session, claim.delivery_id, claim.number, **values)
    if current and result.succeeded and claim.endpoint_failing_since is not None:
        set_failing_since(session, claim.endpoint_id, None)
    elif current and not result.succeeded and claim.endpoint_failing_since is None:
        set_failing_since(session, claim.endpoint_id, now)
    session.commit()
    return retry_at if current else None


def _record_and_disable(claim: Claim, attempt: dict, values: dict, reason: str, now: datetime) -> None:
    """The rare path: the attempt, the dead delivery and the disabled endpoint in one unit of work."""
    tenant = db.session.get(Tenant, claim.tenant_id)
    with UnitOfWork(tenant, Actor.system("webhooks")) as uow:
        add_attempt(uow.session, **attempt)
        if settle_delivery(uow.session, claim.delivery_id, claim.number, **values):
            endpoint = uow.session.get(WebhookEndpoint, claim.endpoint_id, populate_existing=True)
            if endpoint is not None:
                disable_endpoint(uow, endpoint, reason, now)
        uow.commit()


def disable_endpoint(uow: UnitOfWork, endpoint: WebhookEndpoint, reason: str, now: datetime) -> None:
    """Turn an endpoint off on the system's behalf: audit row, pending deliveries dead, admins notified."""
    if not endpoint.active:
        return
    endpoint.active, endpoint.disabled_at, endpoint.disabled_reason = False, now, reason
    endpoint.updated_at = now
    uow.session.flush()
    mark_dead_for_inactive(uow.session, endpoint.id, f"Not sent: the endpoint was disabled. {reason}", now)
    uow.audit("DISABLE", "WebhookEndpoint", endpoint.id,
              {"before": {"active": True}, "after": {"active": False, "reason": reason}})
    _notify_admins(uow, endpoint, reason)
    log.warning("webhook endpoint %s of tenant %s disabled: %s", endpoint.id, endpoint.tenant_id, reason)


@dataclass(frozen=True)
class _NoTicket:
    """Notifications are about tickets; this one is about a webhook endpoint."""

    id: None = None
    number: None = None


def _notify_admins(uow: UnitOfWork, endpoint: WebhookEndpoint, reason: str) -> None:
    """An in-app notification for each active admin, in the same transaction as the disable."""
    from app.services.notifications import notify

    admins = [user.id for user in uow.users.with_role("admin")]
    notify(uow, admins, "webhook.disabled", _NoTicket(), f"Webhook to {endpoint.url} was disabled: {reason}")


# -- the sweeper --------------------------------------------------------------------------------------
def sweep(now: datetime | None = None) -> list[int]:
    """Ids of deliveries to enqueue again: due and not in flight (see the module docstring)."""
    now = now or utcnow()
    begin_write(db.session)
    ids = []
    for row in due_deliveries(db.session, now, now - timedelta(seconds=SWEEP_GRACE_SECONDS), SWEEP_BATCH):
        if row.lease_expires_at is not None:  # the attempt's worker died or stalled: record it as lost
            db.session.add(WebhookAttempt(
                tenant_id=row.tenant_id, delivery_id=row.id, endpoint_id=row.endpoint_id, number=row.attempt_count,
                started_at=row.last_attempt_at or now, succeeded=False, request_headers={}, error=LOST))
            row.lease_expires_at, row.updated_at = None, now
            if row.attempt_count >= row.max_attempts:
                row.status, row.next_attempt_at, row.completed_at = "dead", None, now
                row.last_error = "Attempts used up (the last one was lost with its worker)."
                continue
        ids.append(row.id)
    db.session.commit()
    if ids:
        log.warning("webhook sweeper requeued %d delivery(ies)", len(ids))
    return ids
