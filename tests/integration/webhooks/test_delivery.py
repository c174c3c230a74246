"""Deliveries to a real receiver on 127.0.0.1: signatures, retries, dead letters, disabling, the sweeper.

Jobs run in process (Huey immediate mode); scheduled retries run through
``run_scheduled``, which does what the consumer's scheduler does.
test_worker_crash.py covers a real consumer process.
"""
from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from standardwebhooks.webhooks import WebhookVerificationError

from app.extensions import db
from app.models import AuditLog, Notification, OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.models.base import utcnow
from app.repositories import unit_of_work
from app.services import comments
from app.services.webhooks import attempts, deliveries, endpoints, metrics, url_safety
from app.services.webhooks.settings import current_settings
from app.tasks import webhook as webhook_tasks
from tests.conftest import make_ticket
from tests.integration.webhooks.support import (Answer, add_endpoint, attempts_of, deliveries_of, endpoint_row,
                                                run_scheduled)


def _only(rows):
    assert len(rows) == 1, rows
    return rows[0]


def test_ticket_event_is_delivered_signed_and_verifies(ctx, acme, receiver):
    endpoint, secret = add_endpoint(acme, receiver.url(), events=["ticket.created"])
    ticket = make_ticket(acme, subject="Printer on fire")

    request = _only(receiver.wait_for(1))
    body = request.verify(secret)  # a Standard Webhooks receiver accepts it unchanged
    event = db.session.scalar(select(OutboxEvent).where(OutboxEvent.event_type == "ticket.created"))
    assert request.headers["webhook-id"] == event.event_id
    assert request.headers["content-type"] == "application/json"
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 30
    assert request.headers["webhook-signature"].startswith("v1,") and " " not in request.headers["webhook-signature"]
    assert body["id"] == event.event_id and body["type"] == "ticket.created" and body["version"] == 1
    assert body["workspace"] == {"id": acme.tenant.id, "slug": "acme"}
    assert body["data"]["ticket"]["number"] == ticket.number
    assert body["data"]["ticket"]["subject"] == "Printer on fire"

    delivery = _only(deliveries_of(endpoint.id))
    assert (delivery.status, delivery.attempt_count, delivery.last_status_code) == ("succeeded", 1, 200)
    assert delivery.completed_at is not None and delivery.lease_expires_at is None
    attempt = _only(attempts_of(delivery.id))
    assert attempt.succeeded and attempt.status_code == 200 and attempt.response_body == "ok"
    assert attempt.latency_ms is not None and attempt.latency_ms >= 0
    assert attempt.request_headers["webhook-id"] == event.event_id


def test_only_active_endpoints_subscribed_to_the_event_get_a_delivery(ctx, acme, globex, receiver):
    created, _ = add_endpoint(acme, receiver.url("/created"), events=["ticket.created"])
    comments_only, _ = add_endpoint(acme, receiver.url("/comments"), events=["comment.created"])
    everything, _ = add_endpoint(acme, receiver.url("/all"), events=["*"])
    add_endpoint(acme, receiver.url("/off"), events=["*"], active=False)
    add_endpoint(globex, receiver.url("/globex"), events=["*"])

    make_ticket(acme)
    requests = receiver.wait_for(2)
    time.sleep(0.1)
    assert sorted(r.path for r in receiver.requests) == ["/all", "/created"]
    assert [d.event_type for d in deliveries_of(comments_only.id)] == []

    number = make_ticket(acme).number
    with acme.uow() as uow:
        comments.add_comment(uow, number, body="On it", public=True)
        uow.commit()
    assert [d.event_type for d in deliveries_of(comments_only.id)] == ["comment.created"]
    assert {d.event_type for d in deliveries_of(everything.id)} == {"ticket.created", "comment.created",
                                                                    "ticket.status_changed"}
    assert len(deliveries_of(created.id)) == 2
    assert requests  # the globex endpoint saw nothing of acme's
    assert all(r.path != "/globex" for r in receiver.requests)


def test_a_500_then_success_is_retried_with_the_same_webhook_id(ctx, acme, receiver):
    receiver.script(500, 200)
    endpoint, secret = add_endpoint(acme, receiver.url())
    make_ticket(acme)

    delivery = _only(deliveries_of(endpoint.id))
    assert delivery.status == "retrying" and delivery.attempt_count == 1 and delivery.last_error.startswith("HTTP 500")
    assert run_scheduled(lambda: deliveries_of(endpoint.id)[0].status == "succeeded")

    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.event_id
    first.verify(secret), second.verify(secret)
    delivery = _only(deliveries_of(endpoint.id))
    assert delivery.attempt_count == 2
    assert [(a.number, a.status_code, a.succeeded) for a in attempts_of(delivery.id)] == [(1, 500, False),
                                                                                           (2, 200, True)]


def test_always_failing_delivery_ends_dead_after_five_attempts(ctx, acme, receiver):
    receiver.default = Answer(503, b"maintenance")
    endpoint, _ = add_endpoint(acme, receiver.url())
    make_ticket(acme)

    assert run_scheduled(lambda: deliveries_of(endpoint.id)[0].status == "dead")
    delivery = _only(deliveries_of(endpoint.id))
    assert delivery.attempt_count == 5 and delivery.next_attempt_at is None
    assert delivery.last_error == "HTTP 503 Service Unavailable"
    assert [a.status_code for a in attempts_of(delivery.id)] == [503] * 5
    assert len(receiver.requests) == 5
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    run_scheduled(timeout=0.3)
    assert len(receiver.requests) == 5  # dead letters are not sent again by themselves
    endpoint = endpoint_row(endpoint.id)
    assert endpoint.active and endpoint.failing_since is not None  # failing, not yet for days


def test_retry_delays_follow_the_schedule_with_jitter(ctx, acme, receiver, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_RETRY_SCHEDULE", "60,300,900,3600")
    receiver.default = Answer(500)
    endpoint, _ = add_endpoint(acme, receiver.url())
    make_ticket(acme)
    delivery = _only(deliveries_of(endpoint.id))
    settings = current_settings()
    assert settings.max_attempts == 5
    for attempt, expected in ((1, 60), (2, 300), (3, 900), (4, 3600)):
        delays = [attempts.retry_delay(settings, attempt, delivery.max_attempts, None) for _ in range(50)]
        assert all(expected * 0.9 <= d <= expected * 1.1 for d in delays)
        assert len(set(delays)) > 1  # jitter
    assert attempts.retry_delay(settings, 1, 5, retry_after=600) == 600  # Retry-After, longer: honoured
    assert attempts.retry_delay(settings, 1, 5, retry_after=5) < 70  # shorter: the schedule wins
    assert attempts.retry_delay(settings, 6, 10, None) < 70  # a manual retry starts the schedule again


def test_retry_after_is_honoured_when_longer(ctx, acme, receiver):
    receiver.script(Answer(429, headers={"Retry-After": "120"}))
    endpoint, _ = add_endpoint(acme, receiver.url())
    make_ticket(acme)
    delivery = _only(deliveries_of(endpoint.id))
    assert delivery.status == "retrying" and delivery.last_status_code == 429
    wait = (delivery.next_attempt_at - utcnow()).total_seconds()
    assert 110 < wait <= 120


def test_410_gone_disables_the_endpoint_at_once(ctx, acme, receiver):
    receiver.default = Answer(410, b"gone")
    endpoint, _ = add_endpoint(acme, receiver.url())
    make_ticket(acme)

    delivery = _only(deliveries_of(endpoint.id))
    assert delivery.status == "dead" and delivery.attempt_count == 1
    endpoint = endpoint_row(endpoint.id)
    assert not endpoint.active and "410" in endpoint.disabled_reason
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "DISABLE"))
    assert audit.entity_type == "WebhookEndpoint" and audit.entity_id == str(endpoint.id)
    assert audit.actor_type == "system" and "secret" not in json.dumps(audit.changes)
    notes = db.session.scalars(select(Notification).where(Notification.event_type == "webhook.disabled")).all()
    assert [n.user_id for n in notes] == [acme.admin.id] and endpoint.url in notes[0].title

    make_ticket(acme)  # nothing more goes to a disabled endpoint
    assert len(deliveries_of(endpoint.id)) == 1 and len(receiver.requests) == 1


def test_an_endpoint_failing_for_days_is_disabled_and_its_admins_told(ctx, acme, receiver):
    receiver.default = Answer(500)
    endpoint, _ = add_endpoint(acme, receiver.url())
    db.session.execute(update(WebhookEndpoint).values(failing_since=utcnow() - timedelta(days=5, minutes=1)))
    db.session.commit()
    make_ticket(acme)

    endpoint = endpoint_row(endpoint.id)
    assert not endpoint.active and endpoint.disabled_reason == "Every delivery failed for 5 days."
    delivery = _only(deliveries_of(endpoint.id))
    assert delivery.status == "dead" and delivery.attempt_count == 1
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.event_type == "webhook.disabled")) == 1
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "DISABLE")) == 1


def test_a_success_ends_the_failing_streak(ctx, acme, receiver):
    receiver.script(500, 200)
    endpoint, _ = add_endpoint(acme, receiver.url())
    make_ticket(acme)
    assert endpoint_row(endpoint.id).failing_since is not None
    run_scheduled(lambda: deliveries_of(endpoint.id)[0].status == "succeeded")
    assert endpoint_row(endpoint.id).failing_since is None


def test_a_timeout_is_retried(ctx, acme, receiver, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 0.3)
    receiver.script(Answer(200, delay=2.0))
    endpoint, _ = add_endpoint(acme, receiver.url())
    started = time.monotonic()
    make_ticket(acme)
    assert time.monotonic() - started < 1.5

    delivery = _only(deliveries_of(endpoint.id))
    assert delivery.status == "retrying" and delivery.last_error == "Timed out after 0.3 s"
    attempt = _only(attempts_of(delivery.id))
    assert attempt.status_code is None and 250 <= attempt.latency_ms < 1500
    assert run_scheduled(lambda: deliveries_of(endpoint.id)[0].status == "succeeded")


def test_connection_refused_is_retried(ctx, acme, receiver):
    endpoint, _ = add_endpoint(acme, receiver.url())
    receiver.close()  # nobody listens any more
    make_ticket(acme)
    delivery = _only(deliveries_of(endpoint.id))
    assert delivery.status == "retrying" and "Connection" in delivery.last_error


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_other_client_errors_are_not_retried(ctx, acme, receiver, status):
    receiver.default = Answer(status)
    endpoint, _ = add_endpoint(acme, receiver.url())
    make_ticket(acme)
    delivery = _only(deliveries_of(endpoint.id))
    assert delivery.status == "dead" and delivery.attempt_count == 1
    assert endpoint_row(endpoint.id).active


def test_a_redirect_is_not_followed(ctx, acme, receiver):
    receiver.default = Answer(302, headers={"Location": receiver.url("/elsewhere")})
    endpoint, _ = add_endpoint(acme, receiver.url("/hook"))
    make_ticket(acme)
    time.sleep(0.1)
    assert [r.path for r in receiver.requests] == ["/hook"]
    delivery = _only(deliveries_of(endpoint.id))
    assert delivery.status == "dead"
    assert delivery.last_error == f"Redirect not followed: HTTP 302 Found to {receiver.url('/elsewhere')}"


def test_the_first_2kb_of_the_response_are_kept(ctx, acme, receiver):
    receiver.default = Answer(200, b"x" * 5000)
    endpoint, _ = add_endpoint(acme, receiver.url())
    make_ticket(acme)
    attempt = _only(attempts_of(_only(deliveries_of(endpoint.id)).id))
    assert attempt.response_body == "x" * 2048


def test_rotated_secrets_both_sign_during_the_overlap(ctx, acme, receiver):
    endpoint, old_secret = add_endpoint(acme, receiver.url())
    with acme.uow(acme.admin) as uow:
        _, new_secret = endpoints.rotate_secret(uow, endpoint.id)
        uow.commit()
    assert new_secret != old_secret and new_secret.startswith("whsec_")

    make_ticket(acme)
    request = _only(receiver.wait_for(1))
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    request.verify(new_secret)
    request.verify(old_secret)  # a receiver not yet updated still verifies

    # After the overlap only the new secret signs.
    db.session.execute(update(WebhookEndpoint).values(previous_secret_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    make_ticket(acme)
    request = receiver.wait_for(2)[1]
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    request.verify(new_secret)
    with pytest.raises(WebhookVerificationError):
        request.verify(old_secret)


def test_a_tampered_body_does_not_verify(ctx, acme, receiver):
    endpoint, secret = add_endpoint(acme, receiver.url())
    make_ticket(acme)
    request = _only(receiver.wait_for(1))
    request.body = request.body.replace(b"Printer", b"Scanner")
    with pytest.raises(WebhookVerificationError):
        request.verify(secret)


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(ctx, acme, receiver, monkeypatch):
    lookups = []

    def resolve(host, port):
        lookups.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(url_safety, "resolve", resolve)
    endpoint, secret = add_endpoint(acme, f"http://hooks.example.test:{receiver.port}/hook")
    lookups.clear()
    make_ticket(acme)
    request = _only(receiver.wait_for(1))
    assert request.headers["host"] == f"hooks.example.test:{receiver.port}"
    assert lookups == ["hooks.example.test"]  # resolved once, for this attempt
    request.verify(secret)


def test_rebinding_to_a_private_address_is_refused_at_connect_time(ctx, acme, receiver, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "")
    answers = {"now": "93.184.216.34"}  # public when the endpoint is saved
    monkeypatch.setattr(url_safety, "resolve", lambda host, port: [answers["now"]])
    endpoint, _ = add_endpoint(acme, f"http://rebind.example.test:{receiver.port}/hook")

    answers["now"] = "127.0.0.1"  # the name now points inside
    make_ticket(acme)
    time.sleep(0.1)
    assert receiver.requests == []
    delivery = _only(deliveries_of(endpoint.id))
    assert delivery.status == "dead"  # refused addresses are not retried
    assert delivery.last_error.startswith("Refused: Webhooks cannot be sent to rebind.example.test (127.0.0.1)")


def test_a_saved_endpoint_is_checked_again_when_the_allowlist_shrinks(ctx, acme, receiver, app, monkeypatch):
    endpoint, _ = add_endpoint(acme, receiver.url())
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "")
    make_ticket(acme)
    assert receiver.requests == []
    assert "loopback" in _only(deliveries_of(endpoint.id)).last_error


def test_running_the_job_again_sends_nothing_twice(ctx, acme, receiver):
    endpoint, _ = add_endpoint(acme, receiver.url())
    make_ticket(acme)
    delivery = _only(deliveries_of(endpoint.id))
    webhook_tasks.deliver(delivery.id)  # a duplicate message (relay, sweeper, retry) does nothing
    time.sleep(0.1)
    assert len(receiver.requests) == 1 and len(attempts_of(delivery.id)) == 1


def test_the_sweeper_sends_what_the_queue_lost(ctx, acme, receiver, monkeypatch):
    monkeypatch.setattr(unit_of_work, "job_dispatcher", [])  # the broker is down: the enqueue is lost
    endpoint, _ = add_endpoint(acme, receiver.url())
    make_ticket(acme)
    delivery = _only(deliveries_of(endpoint.id))
    assert delivery.status == "pending" and receiver.requests == []

    assert webhook_tasks.sweep_deliveries_once() == 0  # just due: the queue may still run it
    db.session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=61)))
    db.session.commit()
    assert webhook_tasks.sweep_deliveries_once() == 1
    assert _only(deliveries_of(endpoint.id)).status == "succeeded"
    assert len(receiver.wait_for(1)) == 1
    assert webhook_tasks.sweep_deliveries_once() == 0


def test_the_sweeper_takes_over_an_attempt_whose_worker_died(ctx, acme, receiver, monkeypatch):
    monkeypatch.setattr(unit_of_work, "job_dispatcher", [])
    endpoint, secret = add_endpoint(acme, receiver.url())
    make_ticket(acme)
    delivery = _only(deliveries_of(endpoint.id))
    # A worker claims the delivery, then dies before recording anything.
    claim = attempts.claim_attempt(delivery.id, current_settings())
    assert claim.number == 1
    assert webhook_tasks.sweep_deliveries_once() == 0  # in flight: its lease is live
    webhook_tasks.deliver(delivery.id)  # a duplicate message while in flight does nothing either
    assert receiver.requests == []

    db.session.execute(update(WebhookDelivery).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert webhook_tasks.sweep_deliveries_once() == 1
    delivery = _only(deliveries_of(endpoint.id))
    assert delivery.status == "succeeded" and delivery.attempt_count == 2
    lost, sent = attempts_of(delivery.id)
    assert lost.number == 1 and not lost.succeeded and "worker stopped" in lost.error
    assert sent.number == 2 and sent.succeeded
    _only(receiver.requests).verify(secret)


def test_a_late_answer_from_a_superseded_attempt_changes_nothing(ctx, acme, receiver, monkeypatch):
    monkeypatch.setattr(unit_of_work, "job_dispatcher", [])
    endpoint, _ = add_endpoint(acme, receiver.url())
    make_ticket(acme)
    delivery = _only(deliveries_of(endpoint.id))
    settings = current_settings()
    stale = attempts.claim_attempt(delivery.id, settings)
    db.session.execute(update(WebhookDelivery).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    attempts.sweep()
    fresh = attempts.claim_attempt(delivery.id, settings)
    assert (stale.number, fresh.number) == (1, 2)
    attempts.record_attempt(fresh, attempts.send(fresh, settings), settings)
    late = attempts.send(stale, settings)
    assert attempts.record_attempt(stale, late, settings) is None
    delivery = _only(deliveries_of(endpoint.id))
    assert delivery.status == "succeeded" and delivery.attempt_count == 2


def test_a_pending_delivery_of_a_deactivated_endpoint_is_not_sent(ctx, acme, receiver, monkeypatch):
    monkeypatch.setattr(unit_of_work, "job_dispatcher", [])
    endpoint, _ = add_endpoint(acme, receiver.url())
    make_ticket(acme)
    with acme.uow(acme.admin) as uow:
        endpoints.update_endpoint(uow, endpoint.id, {"active": False})
        uow.commit()
    delivery = _only(deliveries_of(endpoint.id))
    assert delivery.status == "dead" and "deactivated" in delivery.last_error
    webhook_tasks.deliver(delivery.id)
    assert receiver.requests == []


def test_metrics_for_the_console_and_the_metrics_endpoint(ctx, acme, globex, receiver):
    receiver.script(500, 200, 200)
    endpoint, _ = add_endpoint(acme, receiver.url())
    make_ticket(acme)
    run_scheduled(lambda: deliveries_of(endpoint.id)[0].status == "succeeded")
    make_ticket(acme)

    with acme.uow(acme.admin) as uow:
        health = _only(metrics.endpoint_health(uow))
    assert (health.day.attempts, health.day.succeeded) == (3, 2)
    assert health.day.success_rate == pytest.approx(2 / 3) and health.week.attempts == 3
    assert health.p95_latency_ms is not None and health.avg_latency_ms is not None
    assert health.last_attempt.status_code == 200 and health.dead == 0

    numbers = metrics.delivery_metrics()
    assert (numbers.attempts, numbers.succeeded) == (3, 2)
    assert numbers.success_rate == pytest.approx(2 / 3)
    assert numbers.deliveries_by_status == {"pending": 0, "retrying": 0, "succeeded": 2, "dead": 0}
    assert numbers.p95_latency_ms is not None and numbers.avg_latency_ms is not None
    assert metrics.delivery_metrics(tenant_id=globex.tenant.id).attempts == 0


def test_attempts_are_counted_for_prometheus(ctx, acme, receiver):
    from app.observability.metrics import WEBHOOK_DELIVERIES, WEBHOOK_SECONDS

    def sample(name, labels=None):
        for metric in (WEBHOOK_DELIVERIES, WEBHOOK_SECONDS):
            for family in metric.collect():
                for s in family.samples:
                    if s.name == name and (labels is None or s.labels == labels):
                        return s.value
        return 0.0

    before = (sample("ticketry_webhook_deliveries_total", {"outcome": "retrying"}),
              sample("ticketry_webhook_deliveries_total", {"outcome": "succeeded"}),
              sample("ticketry_webhook_delivery_seconds_count"))
    receiver.script(500, 200)
    endpoint, _ = add_endpoint(acme, receiver.url())
    make_ticket(acme)
    run_scheduled(lambda: deliveries_of(endpoint.id)[0].status == "succeeded")
    after = (sample("ticketry_webhook_deliveries_total", {"outcome": "retrying"}),
             sample("ticketry_webhook_deliveries_total", {"outcome": "succeeded"}),
             sample("ticketry_webhook_delivery_seconds_count"))
    assert [a - b for a, b in zip(after, before)] == [1, 1, 2]


def test_the_attempt_log_keeps_what_was_sent(ctx, acme, receiver):
    endpoint, _ = add_endpoint(acme, receiver.url())
    make_ticket(acme)
    delivery = _only(deliveries_of(endpoint.id))
    request = _only(receiver.requests)
    assert deliveries.request_body(delivery).encode() == request.body
    attempt = _only(attempts_of(delivery.id))
    assert attempt.request_headers["webhook-signature"] == request.headers["webhook-signature"]
    assert db.session.scalar(select(func.count()).select_from(WebhookAttempt)) == 1
