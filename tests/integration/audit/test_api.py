"""GET /api/v1/audit: roles, row shape, filters, paging, 422s, isolation, OpenAPI."""
from __future__ import annotations

from datetime import timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.services import tickets as ticket_service
from tests.conftest import make_ticket

CLIENT = {"REMOTE_ADDR": "10.1.2.3"}
UA = "ticketry-sync/2.1"


@pytest.fixture
def lead_api(api_as, acme):
    return api_as(acme, acme.lead)


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.get_json()
    return [row["id"] for row in response.get_json()["data"]]


def _newest_first(rows) -> list[int]:
    return [r.id for r in sorted(rows, key=lambda r: r.seq, reverse=True)]


def test_needs_a_token_and_the_lead_role(app, acme, api_as):
    anonymous = app.test_client().get("/api/v1/audit")
    assert anonymous.status_code == 401 and anonymous.is_json
    agent = api_as(acme, acme.agent).get("/api/v1/audit")
    assert agent.status_code == 403 and agent.is_json
    assert agent.get_json()["code"] == 403
    assert api_as(acme, acme.lead).get("/api/v1/audit").status_code == 200
    assert api_as(acme, acme.admin).get("/api/v1/audit").status_code == 200


def test_rows_are_camel_case_newest_first_with_pagination(app, acme, lead_api, audit_rows):
    with app.app_context(), acme.uow(acme.lead) as uow:
        ticket_service.create_ticket(uow, subject="S", description="D", requester_name="R",
                                     requester_email="r@example.com")
        uow.commit()
    body = lead_api.get("/api/v1/audit").get_json()
    rows = audit_rows(acme)
    assert [r["id"] for r in body["data"]] == _newest_first(rows)
    assert body["pagination"] == {"page": 1, "limit": 50, "total": len(rows), "totalPages": 1,
                                  "hasNext": False, "hasPrev": False}
    newest = body["data"][0]
    db_row = rows[-1]
    assert newest == {
        "id": db_row.id, "seq": db_row.seq, "createdAt": db_row.created_at.isoformat(),
        "actor": {"type": "user", "id": acme.lead.id, "label": acme.lead.email},
        "action": "CREATE", "entityType": "Ticket", "entityId": db_row.entity_id, "ticketNumber": 1,
        "changes": db_row.changes, "ipAddress": "127.0.0.1", "userAgent": "pytest", "requestId": None,
    }


def test_filters(app, acme, lead_api, api_as, audit_rows):
    with app.app_context():
        one = make_ticket(acme, subject="One")
        make_ticket(acme, subject="Two", user=acme.lead)
        with acme.uow(acme.agent) as uow:
            ticket_service.update_ticket(uow, one.number, {"priority": "urgent"})
            uow.commit()
    api_as(acme, acme.agent).post("/api/v1/tickets", json={
        "subject": "Via API", "description": "x", "requester": {"name": "R", "email": "r@example.com"}})
    rows = audit_rows(acme)

    def expect(query, predicate):
        assert _ids(lead_api.get(f"/api/v1/audit?{query}")) == _newest_first([r for r in rows if predicate(r)])

    expect(f"ticketNumber={one.number}", lambda r: r.ticket_number == one.number)
    expect(f"entityType=Ticket&entityId={one.id}", lambda r: r.entity_type == "Ticket" and r.entity_id == str(one.id))
    expect("entityType=ApiToken", lambda r: r.entity_type == "ApiToken")
    expect("action=update", lambda r: r.action == "UPDATE")
    expect(f"userId={acme.agent.id}", lambda r: (r.actor_type == "user" and r.actor_id == acme.agent.id)
           or r.actor_type == "token")
    expect(f"userId={acme.lead.id}&action=CREATE",
           lambda r: r.actor_type == "user" and r.actor_id == acme.lead.id and r.action == "CREATE")
    assert len(_ids(lead_api.get(f"/api/v1/audit?ticketNumber={one.number}"))) == 2


def test_date_filters_take_dates_and_date_times(acme, lead_api, audit_rows):
    rows = audit_rows(acme)
    last = rows[-1].created_at
    first_day, last_day = (r.created_at.astimezone(ZoneInfo("Europe/Paris")).date() for r in (rows[0], rows[-1]))
    every = _newest_first(rows)
    assert _ids(lead_api.get(f"/api/v1/audit?startDate={first_day}&endDate={last_day}")) == every
    assert _ids(lead_api.get(f"/api/v1/audit?endDate={first_day - timedelta(days=1)}")) == []
    after_last = (last + timedelta(microseconds=1)).isoformat()
    assert _ids(lead_api.get("/api/v1/audit", query_string={"startDate": after_last})) == []
    up_to_last = (last + timedelta(seconds=1)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _ids(lead_api.get("/api/v1/audit", query_string={"endDate": up_to_last})) == every
    # no offset: the workspace's time zone (Paris is ahead of UTC, so the UTC wall clock is earlier there)
    naive_utc_wall = (last + timedelta(seconds=1)).astimezone(timezone.utc).replace(tzinfo=None).isoformat()
    assert _ids(lead_api.get("/api/v1/audit", query_string={"endDate": naive_utc_wall})) == []


@pytest.mark.parametrize("query, field, message", [
    ("startDate=yesterday", "startDate", "Use an ISO date"),
    ("endDate=2024-13-01", "endDate", "Use an ISO date"),
    ("startDate=2024-05-02&endDate=2024-05-01", "endDate", "Must be after the start date."),
    ("startDate=2024-05-01T10:00:00Z&endDate=2024-05-01T10:00:00Z", "endDate", "Must be after the start date."),
    ("limit=201", "limit", "less than or equal to 200"),
    ("limit=0", "limit", "greater than or equal to 1"),
    ("page=0", "page", "1"),
    ("ticketNumber=abc", "ticketNumber", "Not a valid integer."),
    ("userId=me", "userId", "Not a valid integer."),
])
def test_bad_parameters_are_422_with_per_field_messages(lead_api, query, field, message):
    response = lead_api.get(f"/api/v1/audit?{query}")
    assert response.status_code == 422
    errors = response.get_json()["errors"]["query"]
    assert list(errors) == [field]
    assert message in " ".join(errors[field])


def test_limit_up_to_200_and_pages(app, acme, lead_api, audit_rows):
    with app.app_context(), acme.uow(acme.lead) as uow:
        for i in range(205):
            uow.audit("UPDATE", "Ticket", i)
        uow.commit()
    rows = _newest_first(audit_rows(acme))
    first = lead_api.get("/api/v1/audit?limit=200").get_json()
    assert [r["id"] for r in first["data"]] == rows[:200]
    assert first["pagination"]["hasNext"] is True and first["pagination"]["totalPages"] == 2
    second = lead_api.get("/api/v1/audit?limit=200&page=2").get_json()
    assert [r["id"] for r in second["data"]] == rows[200:]


def test_api_request_records_ip_and_user_agent(app, acme, api_as, lead_api, audit_rows):
    agent_api = api_as(acme, acme.agent)
    response = agent_api.post("/api/v1/tickets", environ_base=CLIENT, headers={"User-Agent": UA},
                              json={"subject": "From a script", "description": "x",
                                    "requester": {"name": "R", "email": "r@example.com"}})
    assert response.status_code == 201
    row = audit_rows(acme, action="CREATE", entity_type="Ticket")[-1]
    assert row.actor_type == "token"
    assert acme.agent.email in row.actor_label
    assert (row.ip_address, row.user_agent) == ("10.1.2.3", UA)
    listed = lead_api.get(f"/api/v1/audit?ticketNumber={response.get_json()['number']}").get_json()["data"][0]
    assert (listed["ipAddress"], listed["userAgent"], listed["actor"]["type"]) == ("10.1.2.3", UA, "token")


def test_another_workspace_never_sees_acme_rows(app, acme, globex, api_as, audit_rows):
    with app.app_context():
        ticket = make_ticket(acme)
    globex_api = api_as(globex, globex.lead)
    acme_ids = {r.id for r in audit_rows(acme)}
    body = globex_api.get("/api/v1/audit?limit=200").get_json()
    assert {r["id"] for r in body["data"]} == {r.id for r in audit_rows(globex)}
    assert not {r["id"] for r in body["data"]} & acme_ids
    for query in (f"ticketNumber={ticket.number}", f"entityType=Ticket&entityId={ticket.id}",
                  f"userId={acme.agent.id}"):
        assert _ids(globex_api.get(f"/api/v1/audit?{query}")) == []


def test_openapi_documents_the_operation(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/audit"]["get"]
    assert operation["security"] == [{"bearerAuth": []}]
    names = {p["name"] for p in operation["parameters"]}
    assert names == {"entityType", "entityId", "ticketNumber", "userId", "action", "startDate", "endDate",
                     "page", "limit"}
    limit = next(p for p in operation["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["default"], limit["schema"]["maximum"]) == (50, 200)
    assert {"200", "401", "403", "422"} <= set(operation["responses"])
    entry = spec["components"]["schemas"]["AuditEntry"]
    assert set(entry["properties"]) == {"id", "seq", "createdAt", "actor", "action", "entityType", "entityId",
                                        "ticketNumber", "changes", "ipAddress", "userAgent", "requestId"}
