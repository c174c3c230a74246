"""Endpoint rules: admins only, safe URLs, known events, audit rows without secrets, rotation."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.errors import NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models import AuditLog, WebhookEndpoint
from app.models.base import utcnow
from app.services.webhooks import endpoints
from app.services.webhooks.settings import WebhookSettings, parse_schedule

URL = "https://93.184.216.34/hooks/ticketry"  # a public address: no lookup needed


def _create(ws, **fields):
    values = {"url": URL, "events": ["ticket.created"], **fields}
    with ws.uow(ws.admin) as uow:
        endpoint, secret = endpoints.create_endpoint(uow, **values)
        uow.commit()
    return endpoint, secret


def _audit(action):
    return db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).all()


def test_create_returns_the_secret_once_and_audits_without_it(ctx, acme):
    endpoint, secret = _create(acme, description="  CRM sync ")
    assert secret.startswith("whsec_") and endpoint.secret == secret
    assert (endpoint.url, endpoint.events, endpoint.description, endpoint.active) == (
        URL, ["ticket.created"], "CRM sync", True)
    row = _audit("CREATE")[-1]
    assert row.entity_type == "WebhookEndpoint" and row.entity_id == str(endpoint.id)
    assert row.changes == {"after": {"url": URL, "events": ["ticket.created"], "description": "CRM sync",
                                     "active": True}}
    assert secret not in json.dumps(row.changes)


@pytest.mark.parametrize("role", ["agent", "lead"])
def test_only_admins_manage_webhooks(ctx, acme, role):
    with acme.uow(getattr(acme, role)) as uow:
        with pytest.raises(PermissionDenied):
            endpoints.create_endpoint(uow, url=URL, events=["*"])


@pytest.mark.parametrize("events,expected", [
    (["*"], ["*"]), (["all"], ["*"]), (["ticket.created", "*"], ["*"]),
    (["comment.created", "ticket.created", "ticket.created"], ["ticket.created", "comment.created"]),
    (["ticket.sla_breached", "ticket.sla_warning"], ["ticket.sla_warning", "ticket.sla_breached"]),
])
def test_events_are_normalised(ctx, acme, events, expected):
    endpoint, _ = _create(acme, events=events)
    assert endpoint.events == expected


@pytest.mark.parametrize("fields,field", [
    ({"url": "http://10.0.0.7/hook"}, "url"), ({"url": "ftp://93.184.216.34/"}, "url"),
    ({"events": []}, "events"), ({"events": ["ticket.deleted"]}, "events"),
    ({"description": "x" * 501}, "description"), ({"active": "yes"}, "active"),
])
def test_invalid_input_is_refused_per_field(ctx, acme, fields, field):
    with acme.uow(acme.admin) as uow:
        with pytest.raises(ValidationFailed) as caught:
            endpoints.create_endpoint(uow, **{"url": URL, "events": ["*"], **fields})
    assert list(caught.value.errors) == [field]
    assert db.session.scalar(select(WebhookEndpoint)) is None


def test_update_audits_what_changed_and_reactivating_clears_a_disable(ctx, acme):
    endpoint, secret = _create(acme)
    with acme.uow(acme.admin) as uow:
        endpoints.update_endpoint(uow, endpoint.id, {"active": False, "events": ["*"], "description": ""})
        uow.commit()
    row = _audit("UPDATE")[-1]
    assert row.changes == {"before": {"active": True, "events": ["ticket.created"]},
                           "after": {"active": False, "events": ["*"]}}
    assert secret not in json.dumps(row.changes)
    with acme.uow(acme.admin) as uow:
        endpoint = endpoints.update_endpoint(uow, endpoint.id, {"active": True})
        uow.commit()
    assert endpoint.active and endpoint.disabled_reason is None and endpoint.failing_since is None
    with acme.uow(acme.admin) as uow:
        with pytest.raises(ValidationFailed) as caught:
            endpoints.update_endpoint(uow, endpoint.id, {"url": "http://192.168.1.1/", "secret": "x"})
    assert set(caught.value.errors) == {"secret"}
    with acme.uow(acme.admin) as uow:
        with pytest.raises(ValidationFailed) as caught:
            endpoints.update_endpoint(uow, endpoint.id, {"url": "http://192.168.1.1/"})
    assert "private" in caught.value.errors["url"][0]


def test_rotation_keeps_the_previous_secret_for_the_overlap(ctx, acme, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_SECRET_OVERLAP_HOURS", 2)
    endpoint, old = _create(acme)
    with acme.uow(acme.admin) as uow:
        endpoint, new = endpoints.rotate_secret(uow, endpoint.id)
        uow.commit()
    assert new != old and endpoint.secret == new and endpoint.previous_secret == old
    expires = endpoint.previous_secret_expires_at
    assert timedelta(hours=1, minutes=59) < expires - utcnow() <= timedelta(hours=2)
    assert endpoint.signing_secrets(utcnow()) == [new, old]
    assert endpoint.signing_secrets(expires + timedelta(seconds=1)) == [new]
    row = _audit("ROTATE_SECRET")[-1]
    assert old not in json.dumps(row.changes) and new not in json.dumps(row.changes)

    monkeypatch.setitem(app.config, "WEBHOOK_SECRET_OVERLAP_HOURS", 0)
    with acme.uow(acme.admin) as uow:
        endpoint, newest = endpoints.rotate_secret(uow, endpoint.id)
        uow.commit()
    assert endpoint.signing_secrets(utcnow()) == [newest]


def test_another_tenants_endpoint_does_not_exist(ctx, acme, globex):
    endpoint, _ = _create(acme)
    with globex.uow(globex.admin) as uow:
        for change in (lambda: endpoints.get_endpoint(uow, endpoint.id),
                       lambda: endpoints.update_endpoint(uow, endpoint.id, {"active": False}),
                       lambda: endpoints.rotate_secret(uow, endpoint.id),
                       lambda: endpoints.delete_endpoint(uow, endpoint.id)):
            with pytest.raises(NotFound):
                change()


def test_delete_removes_the_endpoint_and_audits_it(ctx, acme):
    endpoint, secret = _create(acme)
    with acme.uow(acme.admin) as uow:
        endpoints.delete_endpoint(uow, endpoint.id)
        uow.commit()
    assert db.session.scalar(select(WebhookEndpoint)) is None
    row = _audit("DELETE")[-1]
    assert row.changes["before"]["url"] == URL and secret not in json.dumps(row.changes)


def test_settings_schedule():
    assert parse_schedule("60, 300,900,3600") == (60.0, 300.0, 900.0, 3600.0)
    assert parse_schedule("") == (60.0, 300.0, 900.0, 3600.0)
    with pytest.raises(ValueError):
        parse_schedule("60,-1")
    settings = WebhookSettings(schedule=(60.0, 300.0, 900.0, 3600.0))
    assert settings.max_attempts == 5 and settings.schedule_text == "1 min, 5 min, 15 min, 1 h"
