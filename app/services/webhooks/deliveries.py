"""Deliveries: outbox events become delivery rows; admins retry them, send test events, read the log.

A delivery row is the source of truth for one event sent to one endpoint: the
queue only carries its id. ``fan_out`` (an outbox handler, so it runs once
per event, in the handler's unit of work) adds one ``pending`` delivery per
active endpoint subscribed to the event and asks for the ``webhook.deliver``
job after commit. attempts.py sends them, retries them and keeps the
dead-letter queue; here admins retry failed and dead deliveries (each with a
fresh attempt budget) and send test events.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from app.errors import Conflict, ValidationFailed
from app.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.models.base import utcnow
from app.models.webhooks import DELIVERY_STATUSES, EVENT_TYPES, TEST_EVENT
from app.repositories.pagination import MAX_LIMIT, Page
from app.repositories.unit_of_work import UnitOfWork
from app.services.events import handles
from app.services.webhooks.endpoints import repository, require_admin
from app.services.webhooks.envelope import body_bytes, envelope
from app.services.webhooks.settings import WebhookSettings, current_settings

DELIVER_JOB = "webhook.deliver"
RETRY_ALL_LIMIT = 1000


# -- events become deliveries ------------------------------------------------------------------
def _new_delivery(endpoint: WebhookEndpoint, event_id: str, event_type: str, payload: dict,
                  settings: WebhookSettings, now: datetime) -> WebhookDelivery:
    return WebhookDelivery(endpoint_id=endpoint.id, event_id=event_id, event_type=event_type, payload=payload,
                           status="pending", attempt_count=0, max_attempts=settings.max_attempts,
                           next_attempt_at=now, created_at=now, updated_at=now)


@handles("webhooks", *EVENT_TYPES)
def fan_out(uow: UnitOfWork, event: OutboxEvent) -> None:
    """One delivery per active endpoint subscribed to the event, in the handler's transaction."""
    repo = repository(uow)
    endpoints = [e for e in repo.active_endpoints() if e.subscribes_to(event.event_type)]
    if not endpoints:
        return
    settings, now = current_settings(), utcnow()
    payload = envelope(event.event_id, event.event_type, event.created_at, uow.tenant, event.payload)
    rows = [repo.add_delivery(_new_delivery(e, event.event_id, event.event_type, payload, settings, now))
            for e in endpoints]
    uow.session.flush()
    for row in rows:
        uow.enqueue_after_commit(DELIVER_JOB, row.id)


# -- admins: the console and the API ------------------------------------------------------------------
def _requeue(row: WebhookDelivery, settings: WebhookSettings, now: datetime) -> None:
    """Back to pending, due now, with a fresh attempt budget."""
    row.status, row.next_attempt_at, row.lease_expires_at, row.completed_at = "pending", now, None, None
    row.max_attempts = row.attempt_count + settings.max_attempts
    row.updated_at = now


def retry_delivery(uow: UnitOfWork, endpoint_id: int, delivery_id: int) -> WebhookDelivery:
    """The Retry button: a failed (retrying) or dead delivery is sent again now."""
    require_admin(uow)
    repo = repository(uow)
    endpoint = repo.endpoint(endpoint_id)
    row = repo.delivery(endpoint_id, delivery_id, for_update=True)
    now = utcnow()
    if row.status not in ("retrying", "dead"):
        raise Conflict(f"A {row.status} delivery cannot be retried: only failed and dead ones.")
    if row.lease_expires_at is not None and row.lease_expires_at > now:
        raise Conflict("An attempt of this delivery is in flight: wait for its result.")
    if not endpoint.active:
        raise Conflict("This endpoint is inactive: activate it before retrying its deliveries.")
    before = row.status
    _requeue(row, current_settings(), now)
    uow.audit("RETRY", "WebhookDelivery", row.id,
              {"before": {"status": before}, "after": {"status": "pending"}, "eventId": row.event_id,
               "endpointId": endpoint.id})
    uow.enqueue_after_commit(DELIVER_JOB, row.id)
    return row


def retry_dead(uow: UnitOfWork, endpoint_id: int) -> tuple[int, int]:
    """'Retry all dead': (requeued now, still dead). At most RETRY_ALL_LIMIT per call."""
    require_admin(uow)
    repo = repository(uow)
    endpoint = repo.endpoint(endpoint_id)
    if not endpoint.active:
        raise Conflict("This endpoint is inactive: activate it before retrying its deliveries.")
    rows = repo.dead_deliveries(endpoint_id, RETRY_ALL_LIMIT)
    settings, now = current_settings(), utcnow()
    for row in rows:
        _requeue(row, settings, now)
    uow.session.flush()
    if rows:
        uow.audit("RETRY_DEAD", "WebhookEndpoint", endpoint.id, {"after": {"requeued": len(rows)}})
    for row in rows:
        uow.enqueue_after_commit(DELIVER_JOB, row.id)
    return len(rows), repo.count_dead(endpoint_id)


def send_test_event(uow: UnitOfWork, endpoint_id: int) -> WebhookDelivery:
    """A ``webhook.test`` event to this endpoint only, whatever it subscribes to."""
    require_admin(uow)
    repo = repository(uow)
    endpoint = repo.endpoint(endpoint_id)
    if not endpoint.active:
        raise Conflict("This endpoint is inactive: activate it to send a test event.")
    now, event_id = utcnow(), str(uuid.uuid4())
    data = {"message": "A test event from Ticketry: your endpoint receives and verifies webhooks.",
            "webhook": {"id": endpoint.id, "url": endpoint.url}}
    row = repo.add_delivery(_new_delivery(endpoint, event_id, TEST_EVENT,
                                          envelope(event_id, TEST_EVENT, now, uow.tenant, data),
                                          current_settings(), now))
    uow.session.flush()
    uow.audit("TEST", "WebhookEndpoint", endpoint.id, {"after": {"eventId": event_id}})
    uow.enqueue_after_commit(DELIVER_JOB, row.id)
    return row


def list_deliveries(uow: UnitOfWork, endpoint_id: int, *, status: str | None = None, event_type: str | None = None,
                    page: int = 1, limit: int = 25) -> Page:
    require_admin(uow)
    errors = {}
    if status and status not in DELIVERY_STATUSES:
        errors["status"] = [f"Must be one of: {', '.join(DELIVERY_STATUSES)}."]
    if event_type and len(event_type) > 64:
        errors["event"] = ["Must be at most 64 characters."]
    if not 1 <= limit <= MAX_LIMIT:
        errors["limit"] = [f"Must be between 1 and {MAX_LIMIT}."]
    if page < 1:
        errors["page"] = ["Must be at least 1."]
    if errors:
        raise ValidationFailed(errors)
    repo = repository(uow)
    repo.endpoint(endpoint_id)  # 404 for another tenant's endpoint
    return repo.deliveries(endpoint_id, status=status or None, event_type=event_type or None, page=page, limit=limit)


def get_delivery(uow: UnitOfWork, endpoint_id: int, delivery_id: int) -> tuple[WebhookDelivery, list[WebhookAttempt]]:
    require_admin(uow)
    repo = repository(uow)
    row = repo.delivery(endpoint_id, delivery_id)
    return row, repo.attempts(row.id)


def event_types_seen(uow: UnitOfWork, endpoint_id: int) -> list[str]:
    return repository(uow).event_types(endpoint_id)


def request_body(row: WebhookDelivery) -> str:
    """The body as sent (pretty-printing would change what was signed)."""
    return body_bytes(row.payload).decode()
