"""/api/v1/webhooks: admins only, secrets only on creation and rotation, unsafe URLs 422, other tenants 404."""
from __future__ import annotations

import pytest

from app.extensions import db
from app.models import WebhookEndpoint
from tests.conftest import make_ticket
from tests.integration.api.conftest import ApiClient, make_token
from tests.integration.webhooks.support import Answer, deliveries_of, run_scheduled

FIELDS = {"id", "url", "events", "description", "active", "disabledAt", "disabledReason", "previousSecretExpiresAt",
          "createdAt", "updatedAt"}


@pytest.fixture
def admin_api(app, acme):
    return ApiClient(app.test_client(), make_token(app, acme, acme.admin))


@pytest.fixture
def globex_admin_api(app, globex):
    return ApiClient(app.test_client(), make_token(app, globex, globex.admin))


def _delete(api, path):
    return api.client.delete(path, headers=api._headers(None))


def _create(api, url, **fields):
    response = api.post("/api/v1/webhooks", json={"url": url, "events": ["*"], **fields})
    assert response.status_code == 201, response.json
    return response.json


def test_create_answers_with_the_secret_once(app, admin_api, receiver):
    response = admin_api.post("/api/v1/webhooks", json={"url": receiver.url(), "events": ["ticket.created"],
                                                        "description": "CRM"})
    assert response.status_code == 201
    body = response.json
    assert set(body) == FIELDS | {"secret"} and body["secret"].startswith("whsec_")
    assert (body["url"], body["events"], body["description"], body["active"]) == (
        receiver.url(), ["ticket.created"], "CRM", True)
    assert response.headers["Location"].endswith(f"/api/v1/webhooks/{body['id']}")

    one = admin_api.get(f"/api/v1/webhooks/{body['id']}")
    assert one.status_code == 200 and set(one.json) == FIELDS
    listed = admin_api.get("/api/v1/webhooks").json
    assert [set(w) for w in listed["data"]] == [FIELDS]
    assert listed["pagination"]["total"] == 1
    assert body["secret"] not in str(one.json) + str(listed)


def test_update_and_delete(app, admin_api, receiver):
    hook = _create(admin_api, receiver.url())
    response = admin_api.patch(f"/api/v1/webhooks/{hook['id']}", json={"events": ["comment.created"],
                                                                       "active": False})
    assert response.status_code == 200
    assert (response.json["events"], response.json["active"]) == (["comment.created"], False)
    assert "secret" not in response.json
    assert _delete(admin_api, f"/api/v1/webhooks/{hook['id']}").status_code == 204
    assert admin_api.get(f"/api/v1/webhooks/{hook['id']}").status_code == 404


def test_rotation_answers_with_the_new_secret(app, admin_api, receiver):
    hook = _create(admin_api, receiver.url())
    response = admin_api.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret")
    assert response.status_code == 200
    assert response.json["secret"].startswith("whsec_") and response.json["secret"] != hook["secret"]
    assert response.json["previousSecretExpiresAt"] is not None
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, hook["id"])
        assert (endpoint.secret, endpoint.previous_secret) == (response.json["secret"], hook["secret"])


@pytest.mark.parametrize("url,message", [
    ("http://127.0.0.1:9/hook", "loopback"), ("http://10.1.1.1/", "private"), ("http://172.20.0.1/", "private"),
    ("http://192.168.1.1/", "private"), ("http://169.254.169.254/", "link-local or metadata"),
    ("http://[::1]/", "loopback"), ("http://[fd00::1]/", "private"), ("http://[fe80::1]/", "link-local"),
    ("http://localhost/", "loopback"), ("ftp://93.184.216.34/", "http:// or https://"),
])
def test_an_unsafe_url_is_refused_with_422(app, admin_api, monkeypatch, url, message):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "")
    response = admin_api.post("/api/v1/webhooks", json={"url": url, "events": ["*"]})
    assert response.status_code == 422
    assert message in response.json["errors"]["json"]["url"][0]
    hook = _create(admin_api, "https://93.184.216.34/hook")
    patched = admin_api.patch(f"/api/v1/webhooks/{hook['id']}", json={"url": url})
    assert patched.status_code == 422 and list(patched.json["errors"]["json"]) == ["url"]


@pytest.mark.parametrize("body,field", [
    ({"url": "https://93.184.216.34/", "events": []}, "events"),
    ({"url": "https://93.184.216.34/", "events": ["ticket.deleted"]}, "events"),
    ({"url": "https://93.184.216.34/"}, "events"),
    ({"events": ["*"]}, "url"),
    ({"url": "https://93.184.216.34/", "events": ["*"], "secret": "whsec_mine"}, "secret"),
])
def test_invalid_bodies_answer_422(app, admin_api, body, field):
    response = admin_api.post("/api/v1/webhooks", json=body)
    assert response.status_code == 422 and field in response.json["errors"]["json"]


@pytest.mark.parametrize("role", ["agent", "lead"])
def test_only_admins(app, acme, receiver, role):
    api = ApiClient(app.test_client(), make_token(app, acme, getattr(acme, role)))
    assert api.get("/api/v1/webhooks").status_code == 403
    assert api.post("/api/v1/webhooks", json={"url": receiver.url(), "events": ["*"]}).status_code == 403


def test_another_tenants_webhook_is_404(app, admin_api, globex_admin_api, globex, receiver):
    hook = _create(globex_admin_api, receiver.url())
    with app.app_context():
        make_ticket(globex)
        delivery_id = deliveries_of(hook["id"])[0].id
    base = f"/api/v1/webhooks/{hook['id']}"
    assert admin_api.get(base).status_code == 404
    assert admin_api.patch(base, json={"active": False}).status_code == 404
    assert _delete(admin_api, base).status_code == 404
    assert admin_api.post(base + "/rotate-secret").status_code == 404
    assert admin_api.post(base + "/test").status_code == 404
    assert admin_api.get(base + "/deliveries").status_code == 404
    assert admin_api.get(f"{base}/deliveries/{delivery_id}").status_code == 404
    assert admin_api.post(f"{base}/deliveries/{delivery_id}/retry").status_code == 404
    assert admin_api.get("/api/v1/webhooks").json["data"] == []


def test_deliveries_are_listed_filtered_and_paged(app, acme, admin_api, receiver):
    receiver.script(400)
    hook = _create(admin_api, receiver.url())
    with app.app_context():
        for _ in range(3):
            make_ticket(acme)
    base = f"/api/v1/webhooks/{hook['id']}/deliveries"
    body = admin_api.get(base).json
    assert [d["status"] for d in body["data"]] == ["succeeded", "succeeded", "dead"]  # newest first
    assert body["pagination"]["total"] == 3
    dead = admin_api.get(base + "?status=dead").json["data"]
    assert len(dead) == 1 and dead[0]["lastStatusCode"] == 400 and dead[0]["lastError"] == "HTTP 400 Bad Request"
    assert set(dead[0]) == {"id", "eventId", "eventType", "status", "attemptCount", "maxAttempts", "nextAttemptAt",
                            "lastAttemptAt", "lastStatusCode", "lastError", "createdAt", "completedAt"}
    assert admin_api.get(base + "?event=comment.created").json["data"] == []
    assert len(admin_api.get(base + "?event=ticket.created").json["data"]) == 3
    page = admin_api.get(base + "?limit=2&page=2").json
    assert len(page["data"]) == 1 and page["pagination"]["hasPrev"] is True
    assert admin_api.get(base + "?status=lost").status_code == 422

    detail = admin_api.get(f"{base}/{dead[0]['id']}").json
    assert detail["payload"]["type"] == "ticket.created" and detail["payload"]["id"] == detail["eventId"]
    assert [a["statusCode"] for a in detail["attempts"]] == [400]
    assert detail["attempts"][0]["requestHeaders"]["webhook-id"] == detail["eventId"]


def test_retry_a_dead_delivery(app, acme, admin_api, receiver):
    receiver.script(Answer(500), Answer(500), Answer(500), Answer(500), Answer(500))
    hook = _create(admin_api, receiver.url())
    with app.app_context():
        make_ticket(acme)
        run_scheduled(lambda: deliveries_of(hook["id"])[0].status == "dead")
        delivery_id = deliveries_of(hook["id"])[0].id
    url = f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery_id}/retry"
    response = admin_api.post(url)
    assert response.status_code == 202
    assert response.json["id"] == delivery_id and response.json["maxAttempts"] == 10
    with app.app_context():
        delivery = deliveries_of(hook["id"])[0]
        assert (delivery.status, delivery.attempt_count) == ("succeeded", 6)
    assert len(receiver.wait_for(6)) == 6
    again = admin_api.post(url)
    assert again.status_code == 409 and "cannot be retried" in again.json["message"]


def test_send_a_test_event(app, admin_api, receiver):
    hook = _create(admin_api, receiver.url(), events=["comment.created"])
    response = admin_api.post(f"/api/v1/webhooks/{hook['id']}/test")
    assert response.status_code == 202 and response.json["eventType"] == "webhook.test"
    receiver.wait_for(1)[0].verify(hook["secret"])


def test_the_openapi_document_describes_the_webhook_api(app, admin_api):
    spec = app.test_client().get("/api/v1/openapi.json").json
    paths = {p for p in spec["paths"] if p.startswith("/api/v1/webhooks")}
    assert paths == {"/api/v1/webhooks", "/api/v1/webhooks/{webhook_id}", "/api/v1/webhooks/{webhook_id}/rotate-secret",
                     "/api/v1/webhooks/{webhook_id}/test", "/api/v1/webhooks/{webhook_id}/deliveries",
                     "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}",
                     "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"}
    create = spec["paths"]["/api/v1/webhooks"]["post"]
    assert {"201", "401", "403", "422"} <= set(create["responses"])
    assert create["security"] == [{"bearerAuth": []}]
