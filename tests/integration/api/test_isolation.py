"""A globex token never sees acme's tickets, comments or people: another tenant's data is a 404."""
from __future__ import annotations

import pytest


@pytest.fixture
def both(app, acme, globex, tickets_in):
    """acme has tickets 1-3 (3 with a comment), globex has ticket 1 only."""
    from app.services.comments import add_comment

    tickets_in(acme, 3, subject="Acme secret", tags=["acme-only"], assignee_id=acme.agent.id)
    tickets_in(globex, 1, subject="Globex own ticket")
    with app.app_context():
        with acme.uow() as uow:
            add_comment(uow, 3, body="Acme internal note", public=False)
            uow.commit()


def test_a_number_only_the_other_tenant_has_is_404(globex_api, both):
    for response in (
        globex_api.get("/api/v1/tickets/3"),
        globex_api.patch("/api/v1/tickets/3", json={"status": "open"}),
        globex_api.get("/api/v1/tickets/3/comments"),
        globex_api.post("/api/v1/tickets/3/comments", json={"body": "Hi", "public": True}),
    ):
        assert response.status_code == 404
        assert "Acme" not in response.get_data(as_text=True)


def test_a_number_both_tenants_have_is_the_own_ticket(globex_api, acme_api, both):
    own = globex_api.get("/api/v1/tickets/1")
    assert own.status_code == 200
    assert own.json["subject"] == "Globex own ticket"
    assert acme_api.get("/api/v1/tickets/1").json["subject"] == "Acme secret"

    changed = globex_api.patch("/api/v1/tickets/1", json={"priority": "urgent"})
    assert changed.json["subject"] == "Globex own ticket"
    assert acme_api.get("/api/v1/tickets/1").json["priority"] == "normal"

    assert globex_api.get("/api/v1/tickets/1/comments").json["data"] == []
    globex_api.post("/api/v1/tickets/1/comments", json={"body": "Globex reply", "public": True})
    assert [c["body"] for c in acme_api.get("/api/v1/tickets/1/comments").json["data"]] == []


def test_the_queue_shows_only_own_tickets(globex_api, acme, both):
    body = globex_api.get("/api/v1/tickets").json
    assert [t["subject"] for t in body["data"]] == ["Globex own ticket"]
    assert body["pagination"]["total"] == 1
    assert globex_api.get("/api/v1/tickets?tag=acme-only").json["data"] == []
    assert globex_api.get(f"/api/v1/tickets?assignee={acme.agent.id}").json["data"] == []
    assert globex_api.get("/api/v1/tickets?q=secret").json["data"] == []
    assert globex_api.get("/api/v1/tickets?cursor=").json["data"][0]["subject"] == "Globex own ticket"


def test_users_are_own_people_only(globex_api, both):
    emails = {u["email"] for u in globex_api.get("/api/v1/users").json["data"]}
    assert emails == {"admin@globex.test", "lead@globex.test", "agent@globex.test"}


def test_new_tickets_are_numbered_per_tenant(globex_api, acme_api, both):
    payload = {"subject": "New", "description": "d", "requester": {"name": "R", "email": "r@example.com"}}
    assert globex_api.post("/api/v1/tickets", json=payload).json["number"] == 2
    assert acme_api.post("/api/v1/tickets", json=payload).json["number"] == 4


def test_cannot_assign_another_tenants_person(globex_api, acme, both):
    response = globex_api.patch("/api/v1/tickets/1", json={"assigneeId": acme.agent.id})
    assert response.status_code == 422
    assert list(response.json["errors"]["json"]) == ["assigneeId"]


@pytest.mark.parametrize("query", ["", "?status=new", "?tag=acme-only", "?q=secret", "?q=own", "?cursor=",
                                   "?sort=due&cursor=", "?sort=priority&page=1&limit=2"])
def test_one_list_statement_serves_each_tenant_its_own_tickets(globex_api, acme_api, both, query):
    """The list statements are kept per filter shape and shared by the tenants (repositories/tickets.py):
    the same shape asked by one tenant and then by the other gives each its own tickets only."""
    for _ in range(2):
        acme_rows = acme_api.get("/api/v1/tickets" + query).json["data"]
        globex_rows = globex_api.get("/api/v1/tickets" + query).json["data"]
        assert {t["subject"] for t in acme_rows} <= {"Acme secret"}
        assert {t["subject"] for t in globex_rows} <= {"Globex own ticket"}
    if query in ("", "?cursor=", "?sort=due&cursor="):
        assert len(acme_rows) == 3 and len(globex_rows) == 1
