"""The webhook console: endpoints and their health, settings, the delivery log, Retry, Retry all dead, test events."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, WebhookEndpoint
from tests.conftest import login, make_ticket
from tests.integration.webhooks.support import Answer, add_endpoint, deliveries_of, run_scheduled

HTMX = {"HX-Request": "true"}


def _error(html: str, field: str) -> str:
    match = re.search(rf'<span class="error" id="{field}-error">(.*?)</span>', html, re.S)
    return match.group(1) if match else ""


def _read(app, fn):
    with app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


def _endpoint(app, ws, url, **fields):
    return _read(app, lambda: add_endpoint(ws, url, **fields))


@pytest.mark.parametrize("role", ["agent", "lead"])
def test_only_admins_see_the_console(app, acme, role):
    client = app.test_client()
    login(client, getattr(acme, role))
    assert client.get("/webhooks").status_code == 403
    assert client.post("/webhooks", data={"url": "http://127.0.0.1/x", "events": "*"}).status_code == 403
    assert 'href="/webhooks"' not in client.get("/tickets").get_data(as_text=True)


def test_admin_nav_links_to_the_console(admin_client):
    html = admin_client.get("/tickets").get_data(as_text=True)
    assert '<a href="/webhooks"' in html
    assert 'aria-current="page">Webhooks</a>' in admin_client.get("/webhooks").get_data(as_text=True)


def test_adding_an_endpoint_shows_its_secret_once(app, admin_client, receiver):
    response = admin_client.post("/webhooks", data={"url": receiver.url(), "description": "CRM",
                                                    "events": ["ticket.created", "comment.created"], "active": "y"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    secret = re.search(r'<p class="secret" id="new-secret">(whsec_[A-Za-z0-9+/=]+)</p>', html).group(1)
    endpoint = _read(app, lambda: db.session.scalar(select(WebhookEndpoint)))
    assert endpoint.secret == secret and endpoint.events == ["ticket.created", "comment.created"]
    assert endpoint.description == "CRM" and endpoint.active
    assert secret not in admin_client.get("/webhooks").get_data(as_text=True)
    assert secret not in admin_client.get(f"/webhooks/{endpoint.id}").get_data(as_text=True)


@pytest.mark.parametrize("data,field,message", [
    ({"url": "http://10.0.0.7/hook"}, "url", "a private address"),
    ({"url": "http://169.254.169.254/latest"}, "url", "link-local or metadata"),
    ({"url": "http://localhost:9/hook"}, "url", "loopback"),
    ({"url": "gopher://example.com/"}, "url", "http:// or https://"),
    ({"url": ""}, "url", "Enter the URL"),
    ({"events": []}, "events", "Choose at least one event"),
    ({"events": ["ticket.deleted"]}, "events", "Unknown event"),
])
def test_adding_an_invalid_endpoint_answers_422_with_inline_errors(app, admin_client, monkeypatch, data, field,
                                                                   message):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "")  # no exception for 127.0.0.1 here
    values = {"url": "https://93.184.216.34/hook", "events": ["*"], "active": "y", **data}
    response = admin_client.post("/webhooks", data=values)
    assert response.status_code == 422
    assert message in _error(response.get_data(as_text=True), field)
    assert _read(app, lambda: db.session.scalar(select(func.count()).select_from(WebhookEndpoint))) == 0


def test_every_invalid_field_is_reported_at_once(app, admin_client):
    response = admin_client.post("/webhooks", data={"url": "http://192.168.1.1/hook", "description": "x" * 501})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "private" in _error(html, "url") and "Choose at least one event" in _error(html, "events")
    assert "500" in _error(html, "description")


def test_console_lists_endpoints_with_their_health(app, acme, admin_client, receiver):
    receiver.script(500, 200)
    endpoint, _ = _endpoint(app, acme, receiver.url(), description="Billing sync")
    _read(app, lambda: (make_ticket(acme), run_scheduled(lambda: deliveries_of(endpoint.id)[0].status == "succeeded")))
    html = admin_client.get("/webhooks").get_data(as_text=True)
    row = re.search(rf'<tr id="webhook-{endpoint.id}">(.*?)</tr>', html, re.S).group(1)
    assert receiver.url() in row and "Billing sync" in row and "Active" in row
    assert row.count("50.0 %") == 2  # 24 h and 7 d: one of two attempts succeeded
    assert re.search(r"avg \d+ ms<br>p95 \d+ ms", row)
    assert '<span class="num rate-good">200</span>' in row


def test_settings_page_saves_changes_and_refuses_unsafe_urls(app, acme, admin_client, receiver):
    endpoint, _ = _endpoint(app, acme, receiver.url())
    page = admin_client.get(f"/webhooks/{endpoint.id}").get_data(as_text=True)
    assert f'value="{receiver.url()}"' in page
    response = admin_client.post(f"/webhooks/{endpoint.id}", data={"url": receiver.url("/v2"), "events": ["*"],
                                                                   "description": "New"})
    assert response.status_code == 302
    row = _read(app, lambda: db.session.get(WebhookEndpoint, endpoint.id))
    assert row.url == receiver.url("/v2") and row.active is False and row.description == "New"
    response = admin_client.post(f"/webhooks/{endpoint.id}", data={"url": "http://192.168.0.2/", "events": ["*"]})
    assert response.status_code == 422 and "private" in _error(response.get_data(as_text=True), "url")


def test_rotating_the_secret_shows_the_new_one_once(app, acme, admin_client, receiver):
    endpoint, old = _endpoint(app, acme, receiver.url())
    html = admin_client.post(f"/webhooks/{endpoint.id}/rotate-secret").get_data(as_text=True)
    new = re.search(r'id="new-secret">(whsec_[^<]+)</p>', html).group(1)
    assert new != old and "the previous secret signs too" in html
    assert new not in admin_client.get(f"/webhooks/{endpoint.id}").get_data(as_text=True)


def test_delete_removes_the_endpoint(app, acme, admin_client, receiver):
    endpoint, _ = _endpoint(app, acme, receiver.url())
    response = admin_client.post(f"/webhooks/{endpoint.id}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith("/webhooks")
    assert _read(app, lambda: db.session.get(WebhookEndpoint, endpoint.id)) is None
    assert admin_client.get(f"/webhooks/{endpoint.id}").status_code == 404


def test_send_test_event_with_htmx_and_as_a_plain_post(app, acme, admin_client, receiver):
    endpoint, secret = _endpoint(app, acme, receiver.url())
    response = admin_client.post(f"/webhooks/{endpoint.id}/test", headers=HTMX)
    assert response.status_code == 200
    assert f'id="test-{endpoint.id}"' in response.get_data(as_text=True) and "Test event queued" in response.get_data(
        as_text=True)
    body = receiver.wait_for(1)[0].verify(secret)
    assert body["type"] == "webhook.test" and body["data"]["webhook"]["id"] == endpoint.id

    response = admin_client.post(f"/webhooks/{endpoint.id}/test")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/webhooks/{endpoint.id}/deliveries")
    assert len(receiver.wait_for(2)) == 2


def test_delivery_log_filters_by_status_and_event_and_pages(app, acme, admin_client, receiver):
    endpoint, _ = _endpoint(app, acme, receiver.url())
    receiver.script(400)  # the first delivery dies at once
    _read(app, lambda: [make_ticket(acme) for _ in range(3)])
    log = f"/webhooks/{endpoint.id}/deliveries"

    html = admin_client.get(log).get_data(as_text=True)
    assert html.count('<tr id="delivery-') == 3 and "1 dead letter" in html
    dead = admin_client.get(log + "?status=dead").get_data(as_text=True)
    assert dead.count('<tr id="delivery-') == 1 and "Dead letter" in dead and ">Retry</button>" in dead
    assert admin_client.get(log + "?event=comment.created").get_data(as_text=True).count('<tr id="delivery-') == 0
    fragment = admin_client.get(log + "?status=succeeded", headers={**HTMX, "HX-Target": "deliveries-live"})
    text = fragment.get_data(as_text=True)
    assert text.lstrip().startswith('<div id="deliveries-live"') and "<html" not in text
    assert text.count('<tr id="delivery-') == 2

    _read(app, lambda: [make_ticket(acme) for _ in range(24)])
    first = admin_client.get(log).get_data(as_text=True)
    assert first.count('<tr id="delivery-') == 25 and f'href="{log}?page=2"' in first
    assert admin_client.get(log + "?page=2").get_data(as_text=True).count('<tr id="delivery-') == 2


def test_delivery_detail_shows_request_headers_body_and_every_attempt(app, acme, admin_client, receiver):
    receiver.script(503, 200)
    endpoint, _ = _endpoint(app, acme, receiver.url())
    _read(app, lambda: (make_ticket(acme, subject="Fan noise"),
                        run_scheduled(lambda: deliveries_of(endpoint.id)[0].status == "succeeded")))
    delivery = _read(app, lambda: deliveries_of(endpoint.id)[0])
    html = admin_client.get(f"/webhooks/{endpoint.id}/deliveries/{delivery.id}").get_data(as_text=True)
    headers = re.search(r'<pre class="trace" id="request-headers">(.*?)</pre>', html, re.S).group(1)
    assert f"webhook-id: {delivery.event_id}" in headers and "webhook-signature: v1," in headers
    assert "content-type: application/json" in headers
    body = re.search(r'<pre class="trace" id="request-body">(.*?)</pre>', html, re.S).group(1)
    assert "Fan noise" in body and "&#34;type&#34;:&#34;ticket.created&#34;" in body
    assert html.count('<tr id="attempt-') == 2 and "503" in html and "Service Unavailable" in html


def test_retry_button_with_htmx_resends_a_dead_delivery(app, acme, admin_client, receiver):
    receiver.script(404)
    endpoint, secret = _endpoint(app, acme, receiver.url())
    _read(app, lambda: make_ticket(acme))
    delivery = _read(app, lambda: deliveries_of(endpoint.id)[0])
    assert delivery.status == "dead"

    response = admin_client.post(f"/webhooks/{endpoint.id}/deliveries/{delivery.id}/retry", headers=HTMX)
    assert response.status_code == 200
    row = response.get_data(as_text=True)
    assert row.lstrip().startswith(f'<tr id="delivery-{delivery.id}">') and "Succeeded" in row
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    second.verify(secret)
    audit = _read(app, lambda: db.session.scalar(select(AuditLog).where(AuditLog.action == "RETRY")))
    assert audit.entity_type == "WebhookDelivery" and audit.actor_id == acme.admin.id

    again = admin_client.post(f"/webhooks/{endpoint.id}/deliveries/{delivery.id}/retry", headers=HTMX)
    assert again.status_code == 409 and "cannot be retried" in again.get_data(as_text=True)


def test_retry_button_works_as_a_plain_post(app, acme, admin_client, receiver):
    receiver.script(400)
    endpoint, _ = _endpoint(app, acme, receiver.url())
    _read(app, lambda: make_ticket(acme))
    delivery = _read(app, lambda: deliveries_of(endpoint.id)[0])
    response = admin_client.post(f"/webhooks/{endpoint.id}/deliveries/{delivery.id}/retry", data={"back": "detail"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/webhooks/{endpoint.id}/deliveries/{delivery.id}")
    assert "Delivery queued again." in admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert _read(app, lambda: deliveries_of(endpoint.id)[0].status) == "succeeded"


def test_retry_all_dead(app, acme, admin_client, receiver):
    receiver.default = Answer(400)
    endpoint, _ = _endpoint(app, acme, receiver.url())
    _read(app, lambda: [make_ticket(acme) for _ in range(3)])
    assert [d.status for d in _read(app, lambda: deliveries_of(endpoint.id))] == ["dead"] * 3

    receiver.default = Answer(200)
    response = admin_client.post(f"/webhooks/{endpoint.id}/deliveries/retry-dead", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<div id="deliveries-live"')
    assert "3 dead deliveries queued again." in html and "0 dead letters" in html
    assert [d.status for d in _read(app, lambda: deliveries_of(endpoint.id))] == ["succeeded"] * 3
    response = admin_client.post(f"/webhooks/{endpoint.id}/deliveries/retry-dead")
    assert response.status_code == 302


def test_a_disabled_endpoint_says_why(app, acme, admin_client, receiver):
    receiver.default = Answer(410)
    endpoint, _ = _endpoint(app, acme, receiver.url())
    _read(app, lambda: make_ticket(acme))
    for page in ("/webhooks", f"/webhooks/{endpoint.id}", f"/webhooks/{endpoint.id}/deliveries"):
        html = admin_client.get(page).get_data(as_text=True)
        assert "The receiver answered 410 Gone." in html
    assert "Disabled" in admin_client.get("/webhooks").get_data(as_text=True)
    notes = admin_client.get("/notifications")  # the admins' in-app notification
    assert notes.status_code == 200
    assert f"Webhook to {receiver.url()} was disabled: The receiver answered 410 Gone." in notes.get_data(as_text=True)
    delivery = _read(app, lambda: deliveries_of(endpoint.id)[0])
    response = admin_client.post(f"/webhooks/{endpoint.id}/deliveries/{delivery.id}/retry", headers=HTMX)
    assert response.status_code == 409 and "inactive" in response.get_data(as_text=True)


def test_another_workspaces_webhooks_are_not_found(app, acme, globex, admin_client, receiver):
    endpoint, _ = _endpoint(app, globex, receiver.url())
    _read(app, lambda: make_ticket(globex))
    delivery = _read(app, lambda: deliveries_of(endpoint.id)[0])
    for path in (f"/webhooks/{endpoint.id}", f"/webhooks/{endpoint.id}/deliveries",
                 f"/webhooks/{endpoint.id}/deliveries/{delivery.id}"):
        assert admin_client.get(path).status_code == 404
    for path in (f"/webhooks/{endpoint.id}/rotate-secret", f"/webhooks/{endpoint.id}/delete",
                 f"/webhooks/{endpoint.id}/test", f"/webhooks/{endpoint.id}/deliveries/{delivery.id}/retry",
                 f"/webhooks/{endpoint.id}/deliveries/retry-dead"):
        assert admin_client.post(path).status_code == 404
    assert receiver.url() not in admin_client.get("/webhooks").get_data(as_text=True)
