"""/api/v1/tickets: the queue, create, read, change; errors as JSON with the right status."""
from __future__ import annotations

from datetime import datetime

import pytest

NEW_TICKET = {
    "subject": "VPN drops every hour",
    "description": "Since Monday the VPN disconnects.",
    "requester": {"name": "Robin Reporter", "email": "Robin@Example.com"},
}


def change(app, ws, number, user=None, **changes):
    from app.services.tickets import update_ticket

    with app.app_context():
        with ws.uow(user) as uow:
            update_ticket(uow, number, changes)
            uow.commit()


# -- success paths ------------------------------------------------------------------
def test_create_ticket(acme_api, acme):
    response = acme_api.post("/api/v1/tickets", json={
        **NEW_TICKET, "priority": "high", "assigneeId": acme.lead.id, "tags": ["VPN", "network", "vpn"],
    })
    assert response.status_code == 201, response.json
    body = response.json
    assert set(body) >= {"number", "subject", "description", "status", "priority", "requester", "assigneeId",
                         "tags", "createdAt", "updatedAt"}
    assert body["number"] == 1
    assert body["subject"] == "VPN drops every hour"
    assert body["status"] == "new"
    assert body["priority"] == "high"
    assert body["requester"] == {"name": "Robin Reporter", "email": "Robin@example.com"}
    assert body["assigneeId"] == acme.lead.id
    assert body["tags"] == ["network", "vpn"]
    assert datetime.fromisoformat(body["createdAt"]).tzinfo is not None
    assert response.headers["Location"].endswith("/api/v1/tickets/1")

    again = acme_api.get("/api/v1/tickets/1")
    assert again.status_code == 200
    assert again.json == body


def test_create_ticket_defaults(acme_api):
    response = acme_api.post("/api/v1/tickets", json=NEW_TICKET)
    assert response.status_code == 201
    assert response.json["priority"] == "normal"
    assert response.json["assigneeId"] is None
    assert response.json["tags"] == []
    assert acme_api.post("/api/v1/tickets", json=NEW_TICKET).json["number"] == 2


def test_get_ticket(acme_api, acme, tickets_in):
    tickets_in(acme, 2)
    response = acme_api.get("/api/v1/tickets/2")
    assert response.status_code == 200
    assert response.json["number"] == 2
    assert response.json["subject"] == "Ticket 2 of acme"
    assert response.json["description"] == "It is **really** on fire."


def test_patch_ticket(acme_api, acme, tickets_in):
    number = tickets_in(acme, 1)[0]
    response = acme_api.patch(f"/api/v1/tickets/{number}", json={
        "status": "pending", "priority": "urgent", "assigneeId": acme.agent.id, "tags": ["billing"],
        "subject": "Printer still on fire",
    })
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["status"], body["priority"], body["assigneeId"], body["tags"], body["subject"]) == (
        "pending", "urgent", acme.agent.id, ["billing"], "Printer still on fire")
    assert body["updatedAt"] > body["createdAt"]
    assert acme_api.get(f"/api/v1/tickets/{number}").json == body


def test_patch_null_assignee_unassigns(acme_api, acme, tickets_in):
    number = tickets_in(acme, 1, assignee_id=acme.agent.id)[0]
    response = acme_api.patch(f"/api/v1/tickets/{number}", json={"assigneeId": None})
    assert response.status_code == 200
    assert response.json["assigneeId"] is None
    assert acme_api.get(f"/api/v1/tickets/{number}").json["assigneeId"] is None


def test_patch_only_changes_what_is_sent(acme_api, acme, tickets_in):
    number = tickets_in(acme, 1, priority="high", tags=["keep"], assignee_id=acme.lead.id)[0]
    response = acme_api.patch(f"/api/v1/tickets/{number}", json={"status": "open"})
    assert response.status_code == 200
    assert (response.json["priority"], response.json["tags"], response.json["assigneeId"]) == (
        "high", ["keep"], acme.lead.id)


def test_list_tickets(acme_api, acme, tickets_in):
    tickets_in(acme, 3)
    response = acme_api.get("/api/v1/tickets")
    assert response.status_code == 200
    body = response.json
    assert [t["number"] for t in body["data"]] == [3, 2, 1]  # most recently updated first
    assert body["pagination"] == {"page": 1, "limit": 20, "total": 3, "totalPages": 1,
                                  "hasNext": False, "hasPrev": False}


def test_list_pages(acme_api, acme, tickets_in):
    tickets_in(acme, 5)
    body = acme_api.get("/api/v1/tickets?page=2&limit=2").json
    assert [t["number"] for t in body["data"]] == [3, 2]
    assert body["pagination"] == {"page": 2, "limit": 2, "total": 5, "totalPages": 3,
                                  "hasNext": True, "hasPrev": True}
    last = acme_api.get("/api/v1/tickets?page=3&limit=2").json
    assert [t["number"] for t in last["data"]] == [1]
    assert last["pagination"]["hasNext"] is False


# -- queue filters --------------------------------------------------------------------
@pytest.fixture
def queue(app, acme, tickets_in):
    """1 new/normal, 2 open/high assigned to the agent #vip, 3 pending/low assigned to the lead, 4 solved/urgent."""
    tickets_in(acme, 1, subject="Printer jam")
    tickets_in(acme, 1, subject="VPN down", priority="high", assignee_id=acme.agent.id, tags=["vip"])
    tickets_in(acme, 1, subject="Invoice missing", priority="low", assignee_id=acme.lead.id)
    tickets_in(acme, 1, subject="Password reset", priority="urgent")
    change(app, acme, 2, status="open")
    change(app, acme, 3, status="pending")
    change(app, acme, 4, status="solved")


def numbers(response):
    assert response.status_code == 200, response.json
    return sorted(t["number"] for t in response.json["data"])


@pytest.mark.parametrize("query,expected", [
    ("status=open", [2]),
    ("status=open&status=pending", [2, 3]),
    ("status=open,solved", [2, 4]),
    ("priority=high", [2]),
    ("priority=low&priority=urgent", [3, 4]),
    ("assignee=me", [2]),
    ("assignee=unassigned", [1, 4]),
    ("tag=vip", [2]),
    ("tag=VIP", [2]),
    ("q=vpn", [2]),
    ("q=in", [1, 3]),
    ("status=new&status=open&assignee=unassigned", [1]),
])
def test_queue_filters(acme_api, queue, query, expected):
    assert numbers(acme_api.get(f"/api/v1/tickets?{query}")) == expected


def test_assignee_filter_by_id(acme_api, acme, queue):
    assert numbers(acme_api.get(f"/api/v1/tickets?assignee={acme.lead.id}")) == [3]


def test_filters_count_in_pagination(acme_api, queue):
    body = acme_api.get("/api/v1/tickets?status=open&status=pending&limit=1").json
    assert body["pagination"]["total"] == 2
    assert body["pagination"]["totalPages"] == 2


@pytest.mark.parametrize("sort,expected", [
    ("priority", [4, 2, 1, 3]),
    ("created", [4, 3, 2, 1]),
    ("updated", [4, 3, 2, 1]),
])
def test_sort(acme_api, queue, sort, expected):
    response = acme_api.get(f"/api/v1/tickets?sort={sort}")
    assert [t["number"] for t in response.json["data"]] == expected


def test_sort_updated_follows_changes(app, acme_api, acme, queue):
    change(app, acme, 1, status="open")
    assert [t["number"] for t in acme_api.get("/api/v1/tickets").json["data"]][0] == 1


# -- 404 and 409 ------------------------------------------------------------------------
def test_unknown_ticket_is_404(acme_api, acme, tickets_in):
    tickets_in(acme, 1)
    for response in (acme_api.get("/api/v1/tickets/99"), acme_api.patch("/api/v1/tickets/99", json={"status": "open"})):
        assert response.status_code == 404
        assert response.is_json
        assert response.json["code"] == 404


@pytest.mark.parametrize("path", ["/api/v1/tickets/99999999999999999999", "/api/v1/tickets/0",
                                  "/api/v1/tickets/99999999999999999999/comments", "/api/v1/tickets/abc"])
def test_impossible_numbers_are_404(acme_api, path):
    response = acme_api.get(path)
    assert response.status_code == 404
    assert response.is_json


def test_closed_ticket_cannot_change(app, acme_api, acme, tickets_in):
    number = tickets_in(acme, 1)[0]
    change(app, acme, number, status="solved")
    change(app, acme, number, status="closed")
    response = acme_api.patch(f"/api/v1/tickets/{number}", json={"priority": "high"})
    assert response.status_code == 409
    assert response.json["code"] == 409
    assert "closed" in response.json["message"]
    assert acme_api.get(f"/api/v1/tickets/{number}").json["priority"] == "normal"


def test_invalid_transition_is_409(acme_api, acme, tickets_in):
    number = tickets_in(acme, 1)[0]
    response = acme_api.patch(f"/api/v1/tickets/{number}", json={"status": "closed"})  # only solved closes
    assert response.status_code == 409
    assert acme_api.get(f"/api/v1/tickets/{number}").json["status"] == "new"


# -- 422 per field ---------------------------------------------------------------------------
def field_errors(response, location="json"):
    assert response.status_code == 422, response.json
    assert response.json["code"] == 422
    return response.json["errors"][location]


@pytest.mark.parametrize("query,field", [
    ("status=open&status=bogus", "status"),
    ("priority=extreme", "priority"),
    ("limit=1000", "limit"),
    ("limit=0", "limit"),
    ("page=0", "page"),
    ("limit=ten", "limit"),
    ("sort=random", "sort"),
    ("assignee=someone", "assignee"),
    ("assignee=99999999999999999999", "assignee"),
    ("page=99999999999999999999", "page"),
])
def test_bad_queue_parameters_are_422(acme_api, query, field):
    errors = field_errors(acme_api.get(f"/api/v1/tickets?{query}"), "query")
    assert list(errors) == [field]


def test_unknown_status_message_names_the_value(acme_api):
    errors = field_errors(acme_api.get("/api/v1/tickets?status=bogus"), "query")
    assert "'bogus'" in errors["status"][0]


def test_malformed_requester_email_is_422(acme_api):
    errors = field_errors(acme_api.post("/api/v1/tickets", json={
        **NEW_TICKET, "requester": {"name": "Robin", "email": "not-an-email"}}))
    assert errors == {"requester": {"email": ["Not a valid email address."]}}


def test_missing_subject_is_422(acme_api):
    body = {k: v for k, v in NEW_TICKET.items() if k != "subject"}
    errors = field_errors(acme_api.post("/api/v1/tickets", json=body))
    assert list(errors) == ["subject"]


def test_blank_subject_is_422(acme_api):
    errors = field_errors(acme_api.post("/api/v1/tickets", json={**NEW_TICKET, "subject": "   "}))
    assert errors == {"subject": ["This field is required."]}


@pytest.mark.parametrize("body,expected", [
    ({"requester": {"name": "Robin"}}, {"requester": {"email": ["Missing data for required field."]}}),
    ({"priority": "extreme"}, {"priority": ["Must be one of: low, normal, high, urgent."]}),
    ({"tags": "not a list"}, {"tags": ["Not a valid list."]}),
    ({"tags": ["ok", "no spaces!"]}, "tags"),
    ({"assigneeId": 999999}, {"assigneeId": ["Not an active person of this workspace."]}),
    ({"assigneeId": "abc"}, {"assigneeId": ["Not a valid integer."]}),
    ({"assigneeId": 99999999999999999999}, "assigneeId"),
    ({"colour": "red"}, {"colour": ["Unknown field."]}),
])
def test_bad_new_ticket_fields_are_422(acme_api, body, expected):
    errors = field_errors(acme_api.post("/api/v1/tickets", json={**NEW_TICKET, **body}))
    if isinstance(expected, str):
        assert list(errors) == [expected]
    else:
        assert errors == expected
    assert acme_api.get("/api/v1/tickets").json["pagination"]["total"] == 0


def test_assignee_of_another_workspace_is_422(acme_api, globex):
    errors = field_errors(acme_api.post("/api/v1/tickets", json={**NEW_TICKET, "assigneeId": globex.agent.id}))
    assert list(errors) == ["assigneeId"]


def test_inactive_assignee_is_422(app, acme_api, acme):
    from app.services import people

    with app.app_context():
        with acme.uow(acme.admin) as uow:
            people.set_active(uow, acme.lead.id, False)
            uow.commit()
    errors = field_errors(acme_api.post("/api/v1/tickets", json={**NEW_TICKET, "assigneeId": acme.lead.id}))
    assert list(errors) == ["assigneeId"]


@pytest.mark.parametrize("body,field", [
    ({"status": "finished"}, "status"),
    ({"priority": "p1"}, "priority"),
    ({"subject": ""}, "subject"),
    ({"assigneeId": 999999}, "assigneeId"),
    ({"assigneeId": 2**40}, "assigneeId"),
    ({"tags": [1, 2]}, "tags"),
    ({"number": 5}, "number"),
])
def test_bad_patch_is_422(acme_api, acme, tickets_in, body, field):
    number = tickets_in(acme, 1)[0]
    errors = field_errors(acme_api.patch(f"/api/v1/tickets/{number}", json=body))
    assert list(errors) == [field]
    assert acme_api.get(f"/api/v1/tickets/{number}").json["status"] == "new"


def test_non_json_body_is_422(acme_api):
    response = acme_api.post("/api/v1/tickets", data="subject=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 422
