"""/api/v1/sla: summary and policies; SLA fields on ticket resources."""
from __future__ import annotations

import pytest

from app.services import people
from tests.conftest import make_ticket


@pytest.fixture
def api(app):
    def for_user(ws, user):
        with app.app_context():
            with ws.uow(ws.admin) as uow:
                _, secret = people.create_token(uow, user.id, "sla tests")
                uow.commit()
        client = app.test_client()
        headers = {"Authorization": f"Bearer {secret}"}

        class Api:
            def get(self, path, **kw):
                return client.get(path, headers=headers, **kw)

            def post(self, path, **kw):
                return client.post(path, headers=headers, **kw)

            def patch(self, path, **kw):
                return client.patch(path, headers=headers, **kw)

            def delete(self, path, **kw):
                return client.delete(path, headers=headers, **kw)

        return Api()

    return for_user


TARGETS = {p: {"firstResponseMinutes": 30, "nextReplyMinutes": None, "resolutionMinutes": 240}
           for p in ("low", "normal", "high", "urgent")}


def test_ticket_resources_carry_the_sla_fields(app, acme, api):
    with app.app_context():
        number = make_ticket(acme, priority="urgent").number
    body = api(acme, acme.agent).get(f"/api/v1/tickets/{number}").json
    for name in ("firstResponseDueAt", "firstResponseAt", "firstResponseMet", "resolutionDueAt", "resolvedAt",
                 "resolutionMet", "slaState"):
        assert name in body, name
    assert body["slaState"] in ("ok", "at_risk", "breached")
    assert body["firstResponseDueAt"] and body["firstResponseAt"] is None and body["resolutionMet"] is None
    listed = api(acme, acme.agent).get("/api/v1/tickets?sort=due").json
    assert listed["data"][0]["number"] == number


def test_summary_for_leads_not_agents(app, acme, api):
    assert api(acme, acme.agent).get("/api/v1/sla/summary").status_code == 403
    response = api(acme, acme.lead).get("/api/v1/sla/summary?from=2025-06-01&to=2025-06-07")
    assert response.status_code == 200
    body = response.json
    assert body["from"] == "2025-06-01" and body["to"] == "2025-06-07" and body["timezone"] == "Europe/Paris"
    assert len(body["days"]) == 7
    assert set(body["overall"]["firstResponse"]) == {"met", "total", "percent", "medianMinutes", "p90Minutes"}
    assert body["breached"] == {"total": 0, "tickets": []}


def test_summary_refuses_bad_ranges_per_parameter(app, acme, api):
    response = api(acme, acme.lead).get("/api/v1/sla/summary?from=june&to=2025-06-07")
    assert response.status_code == 422
    assert "from" in response.json["errors"]["query"]
    response = api(acme, acme.lead).get("/api/v1/sla/summary?from=2025-06-08&to=2025-06-07")
    assert response.status_code == 422 and "to" in response.json["errors"]["query"]


def test_policies_leads_read_admins_write(app, acme, api):
    lead, admin = api(acme, acme.lead), api(acme, acme.admin)
    listed = lead.get("/api/v1/sla/policies").json
    assert [p["name"] for p in listed["data"]] == ["Standard"]
    assert listed["data"][0]["targets"]["urgent"] == {"firstResponseMinutes": 60, "nextReplyMinutes": 120,
                                                      "resolutionMinutes": 480}
    assert listed["pagination"]["total"] == 1
    assert lead.post("/api/v1/sla/policies", json={"name": "VIP", "targets": TARGETS}).status_code == 403

    created = admin.post("/api/v1/sla/policies", json={"name": "VIP", "matchTag": "vip", "businessHours": False,
                                                       "targets": TARGETS})
    assert created.status_code == 201, created.json
    policy = created.json
    assert created.headers["Location"].endswith(f"/api/v1/sla/policies/{policy['id']}")
    assert policy["matchTag"] == "vip" and policy["businessHours"] is False and policy["warningPercent"] == 80
    assert lead.get(f"/api/v1/sla/policies/{policy['id']}").json["name"] == "VIP"

    changed = admin.patch(f"/api/v1/sla/policies/{policy['id']}",
                          json={"warningPercent": 90, "targets": {"high": {"resolutionMinutes": 600}}})
    assert changed.status_code == 200, changed.json
    assert changed.json["warningPercent"] == 90
    assert changed.json["targets"]["high"]["resolutionMinutes"] == 600
    assert changed.json["targets"]["high"]["firstResponseMinutes"] == 30
    assert lead.patch(f"/api/v1/sla/policies/{policy['id']}", json={"warningPercent": 50}).status_code == 403

    assert admin.delete(f"/api/v1/sla/policies/{policy['id']}").status_code == 204
    assert admin.get(f"/api/v1/sla/policies/{policy['id']}").status_code == 404


def test_bad_targets_answer_422_per_field(app, acme, api):
    admin = api(acme, acme.admin)
    targets = {**TARGETS, "high": {"firstResponseMinutes": 0, "resolutionMinutes": 240},
               "urgent": {"firstResponseMinutes": 120, "resolutionMinutes": 60}}
    response = admin.post("/api/v1/sla/policies", json={"name": "", "warningPercent": 100, "targets": targets})
    assert response.status_code == 422
    errors = response.json["errors"]["json"]
    assert set(errors) >= {"name", "warningPercent", "targets"}
    assert "firstResponseMinutes" in errors["targets"]["high"]
    assert "resolutionMinutes" in errors["targets"]["urgent"]
    missing = admin.post("/api/v1/sla/policies", json={"name": "Partial", "targets": {"low": TARGETS["low"]}})
    assert missing.status_code == 422
    assert "firstResponseMinutes" in missing.json["errors"]["json"]["targets"]["urgent"]
    wrong_type = admin.post("/api/v1/sla/policies", json={"name": "X", "targets": {
        **TARGETS, "low": {"firstResponseMinutes": "soon", "resolutionMinutes": 10}}})
    assert wrong_type.status_code == 422


def test_the_default_policy_cannot_be_deleted_nor_undefaulted(app, acme, api):
    admin = api(acme, acme.admin)
    default = admin.get("/api/v1/sla/policies").json["data"][0]
    assert admin.delete(f"/api/v1/sla/policies/{default['id']}").status_code == 409
    assert admin.patch(f"/api/v1/sla/policies/{default['id']}", json={"isDefault": False}).status_code == 409


def test_another_workspaces_policy_is_404(app, acme, globex, api):
    theirs = api(globex, globex.admin).get("/api/v1/sla/policies").json["data"][0]["id"]
    admin = api(acme, acme.admin)
    assert admin.get(f"/api/v1/sla/policies/{theirs}").status_code == 404
    assert admin.patch(f"/api/v1/sla/policies/{theirs}", json={"warningPercent": 50}).status_code == 404
    assert admin.delete(f"/api/v1/sla/policies/{theirs}").status_code == 404


def test_openapi_documents_the_sla_operations(app):
    spec = app.test_client().get("/api/v1/openapi.json").json
    assert {"get"} <= set(spec["paths"]["/api/v1/sla/summary"])
    assert {"get", "post"} <= set(spec["paths"]["/api/v1/sla/policies"])
    assert {"get", "patch", "delete"} <= set(spec["paths"]["/api/v1/sla/policies/{policy_id}"])
    params = {p["name"] for p in spec["paths"]["/api/v1/sla/summary"]["get"]["parameters"]}
    assert {"from", "to"} <= params
    assert "422" in spec["paths"]["/api/v1/sla/policies"]["post"]["responses"]
    ticket = spec["components"]["schemas"]["Ticket"]["properties"]
    assert {"slaState", "firstResponseDueAt", "resolutionMet"} <= set(ticket)
