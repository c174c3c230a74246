"""Admins manage their workspace's webhook endpoints and signing secrets.

The secret is returned by create_endpoint and rotate_secret only: the caller
shows it once. Audit rows carry the URL, events, description and active flag,
never a secret.
"""
from __future__ import annotations

from datetime import timedelta

from app.errors import PermissionDenied, ValidationFailed
from app.models import WebhookEndpoint
from app.models.base import utcnow
from app.models.webhooks import ALL_EVENTS, EVENT_TYPES
from app.repositories.pagination import MAX_LIMIT, Page
from app.repositories.unit_of_work import UnitOfWork
from app.repositories.webhooks import WebhookRepository, mark_dead_for_inactive
from app.services.validation import Errors, check_length, clean_text
from app.services.webhooks import signing
from app.services.webhooks.settings import current_settings
from app.services.webhooks.url_safety import UnsafeUrl, check_url

EDITABLE = ("url", "events", "description", "active")


def require_admin(uow: UnitOfWork) -> None:
    user = uow.actor.user
    if uow.actor.type != "system" and (user is None or not user.has_role("admin")):
        raise PermissionDenied("Only admins manage webhooks.")


def repository(uow: UnitOfWork) -> WebhookRepository:
    return WebhookRepository(uow.session, uow.tenant_id)


def normalise_events(errors: Errors, events) -> list[str]:
    """Known event types in their canonical order, or ["*"] for all (also spelt "all")."""
    if isinstance(events, str):
        events = [part for part in events.replace(" ", ",").split(",") if part]
    if not isinstance(events, (list, tuple)) or not events:
        errors.add("events", "Choose at least one event, or all events.")
        return []
    chosen = set()
    for event in events:
        name = str(event).strip()
        if name in (ALL_EVENTS, "all"):
            return [ALL_EVENTS]
        if name not in EVENT_TYPES:
            errors.add("events", f"Unknown event {name[:64]!r}; use any of: {', '.join(EVENT_TYPES)}, or *.")
            continue
        chosen.add(name)
    return [name for name in EVENT_TYPES if name in chosen]


def _check_url(errors: Errors, url) -> str:
    try:
        return check_url(url, current_settings().allowed_hosts)
    except UnsafeUrl as exc:
        errors.add("url", str(exc))
        return url if isinstance(url, str) else ""


def snapshot(endpoint: WebhookEndpoint) -> dict:
    """What the audit log records of an endpoint: never its secrets."""
    return {"url": endpoint.url, "events": list(endpoint.events or []), "description": endpoint.description,
            "active": endpoint.active}


def create_endpoint(uow: UnitOfWork, *, url: str, events, description: str = "",
                    active: bool = True) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its signing secret: the only time the secret is handed out."""
    require_admin(uow)
    errors = Errors()
    url = _check_url(errors, url)
    events = normalise_events(errors, events)
    description = clean_text(description)
    check_length(errors, "description", description, required=False, maximum=500)
    if not isinstance(active, bool):
        errors.add("active", "Must be true or false.")
    errors.raise_if_any()
    now = utcnow()
    secret = signing.generate_secret()
    endpoint = repository(uow).add_endpoint(WebhookEndpoint(
        url=url, events=events, description=description, active=active, secret=secret,
        created_at=now, updated_at=now))
    uow.session.flush()
    uow.audit("CREATE", "WebhookEndpoint", endpoint.id, {"after": snapshot(endpoint)})
    return endpoint, secret


def get_endpoint(uow: UnitOfWork, endpoint_id: int) -> WebhookEndpoint:
    require_admin(uow)
    return repository(uow).endpoint(endpoint_id)


def list_endpoints(uow: UnitOfWork, *, page: int = 1, limit: int = 20) -> Page:
    require_admin(uow)
    if not 1 <= limit <= MAX_LIMIT or page < 1:
        raise ValidationFailed.one("limit" if page >= 1 else "page", "Out of range.")
    return repository(uow).endpoints(page, limit)


def update_endpoint(uow: UnitOfWork, endpoint_id: int, changes: dict) -> WebhookEndpoint:
    """Change any of url, events, description, active. Re-activating clears an automatic disable."""
    require_admin(uow)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationFailed({name: ["Unknown field."] for name in sorted(unknown)})
    endpoint = repository(uow).endpoint(endpoint_id, for_update=True)
    errors = Errors()
    new = dict(changes)
    if "url" in new and new["url"] != endpoint.url:
        new["url"] = _check_url(errors, new["url"])
    if "events" in new:
        new["events"] = normalise_events(errors, new["events"])
    if "description" in new:
        new["description"] = clean_text(new["description"])
        check_length(errors, "description", new["description"], required=False, maximum=500)
    if "active" in new and not isinstance(new["active"], bool):
        errors.add("active", "Must be true or false.")
    errors.raise_if_any()

    before = snapshot(endpoint)
    for name, value in new.items():
        setattr(endpoint, name, value)
    after = snapshot(endpoint)
    changed = {k for k in after if after[k] != before[k]}
    if not changed:
        return endpoint
    now = utcnow()
    endpoint.updated_at = now
    if "active" in changed and endpoint.active:
        endpoint.disabled_at, endpoint.disabled_reason, endpoint.failing_since = None, None, None
    if "active" in changed and not endpoint.active:  # disabled_reason stays for the system's disables
        endpoint.disabled_at, endpoint.disabled_reason = now, None
        mark_dead_for_inactive(uow.session, endpoint.id, "Not sent: the endpoint was deactivated.", now)
    uow.audit("UPDATE", "WebhookEndpoint", endpoint.id,
              {"before": {k: before[k] for k in sorted(changed)}, "after": {k: after[k] for k in sorted(changed)}})
    return endpoint


def delete_endpoint(uow: UnitOfWork, endpoint_id: int) -> None:
    """The endpoint goes, with its deliveries and attempts."""
    require_admin(uow)
    repo = repository(uow)
    endpoint = repo.endpoint(endpoint_id, for_update=True)
    uow.audit("DELETE", "WebhookEndpoint", endpoint.id, {"before": snapshot(endpoint)})
    repo.delete_endpoint(endpoint)
    uow.session.flush()


def rotate_secret(uow: UnitOfWork, endpoint_id: int) -> tuple[WebhookEndpoint, str]:
    """A new secret signs from now on; the old one also signs for WEBHOOK_SECRET_OVERLAP_HOURS."""
    require_admin(uow)
    endpoint = repository(uow).endpoint(endpoint_id, for_update=True)
    now = utcnow()
    overlap = current_settings().overlap_hours
    secret = signing.generate_secret()
    endpoint.previous_secret = endpoint.secret if overlap > 0 else None
    endpoint.previous_secret_expires_at = now + timedelta(hours=overlap) if overlap > 0 else None
    endpoint.secret = secret
    endpoint.secret_rotated_at = now
    endpoint.updated_at = now
    uow.audit("ROTATE_SECRET", "WebhookEndpoint", endpoint.id, {"after": {
        "previousSecretValidUntil": endpoint.previous_secret_expires_at.isoformat()
        if endpoint.previous_secret_expires_at else None}})
    return endpoint, secret
