"""/api/v1/tickets/<number>/comments: replies and internal notes."""
from __future__ import annotations

import pytest


def close(app, ws, number):
    from app.services.tickets import update_ticket

    with app.app_context():
        for status in ("solved", "closed"):
            with ws.uow() as uow:
                update_ticket(uow, number, {"status": status})
                uow.commit()


def comment(app, ws, number, user=None, body="Noted.", public=True):
    from app.services.comments import add_comment

    with app.app_context():
        with ws.uow(user) as uow:
            add_comment(uow, number, body=body, public=public)
            uow.commit()


def test_post_public_reply(acme_api, acme, tickets_in):
    number = tickets_in(acme, 1)[0]
    response = acme_api.post(f"/api/v1/tickets/{number}/comments", json={"body": "  We are on it.  ", "public": True})
    assert response.status_code == 201, response.json
    body = response.json
    assert set(body) >= {"id", "body", "public", "author", "createdAt"}
    assert body["body"] == "We are on it."
    assert body["public"] is True
    assert body["author"] == {"id": acme.agent.id, "name": acme.agent.name}
    # an agent's public reply opens a new ticket (the rule lives in the service)
    assert acme_api.get(f"/api/v1/tickets/{number}").json["status"] == "open"


def test_post_internal_note(acme_api, acme, tickets_in):
    number = tickets_in(acme, 1)[0]
    response = acme_api.post(f"/api/v1/tickets/{number}/comments", json={"body": "Check the logs", "public": False})
    assert response.status_code == 201
    assert response.json["public"] is False
    assert acme_api.get(f"/api/v1/tickets/{number}").json["status"] == "new"


def test_list_comments(app, acme_api, acme, tickets_in):
    number = tickets_in(acme, 1)[0]
    comment(app, acme, number, acme.lead, body="First")
    comment(app, acme, number, acme.agent, body="Second", public=False)
    acme_api.post(f"/api/v1/tickets/{number}/comments", json={"body": "Third", "public": True})

    response = acme_api.get(f"/api/v1/tickets/{number}/comments")
    assert response.status_code == 200
    data = response.json["data"]
    assert [c["body"] for c in data] == ["First", "Second", "Third"]  # oldest first
    assert [c["public"] for c in data] == [True, False, True]
    assert data[0]["author"] == {"id": acme.lead.id, "name": acme.lead.name}
    assert response.json["pagination"] == {"page": 1, "limit": 20, "total": 3, "totalPages": 1,
                                           "hasNext": False, "hasPrev": False}

    page = acme_api.get(f"/api/v1/tickets/{number}/comments?page=2&limit=2").json
    assert [c["body"] for c in page["data"]] == ["Third"]
    assert page["pagination"]["hasPrev"] is True


def test_comment_without_author_is_null(app, acme_api, acme, tickets_in):
    from app.repositories.unit_of_work import Actor, UnitOfWork
    from app.services.comments import add_comment

    number = tickets_in(acme, 1)[0]
    with app.app_context():
        with UnitOfWork(acme.tenant, Actor.system("mail")) as uow:
            add_comment(uow, number, body="From the requester by mail", public=True)
            uow.commit()
    data = acme_api.get(f"/api/v1/tickets/{number}/comments").json["data"]
    assert data[0]["author"] is None


def test_comments_of_unknown_ticket_are_404(acme_api, acme, tickets_in):
    tickets_in(acme, 1)
    assert acme_api.get("/api/v1/tickets/42/comments").status_code == 404
    response = acme_api.post("/api/v1/tickets/42/comments", json={"body": "x", "public": True})
    assert response.status_code == 404
    assert response.json["code"] == 404


def test_closed_ticket_takes_no_comment(app, acme_api, acme, tickets_in):
    number = tickets_in(acme, 1)[0]
    close(app, acme, number)
    response = acme_api.post(f"/api/v1/tickets/{number}/comments", json={"body": "Hello?", "public": True})
    assert response.status_code == 409
    assert response.json["code"] == 409
    assert acme_api.get(f"/api/v1/tickets/{number}/comments").json["data"] == []


@pytest.mark.parametrize("body,field", [
    ({"public": True}, "body"),
    ({"body": "", "public": True}, "body"),
    ({"body": "   ", "public": True}, "body"),
    ({"body": "x" * 50_001, "public": True}, "body"),
    ({"body": "Hi"}, "public"),
    ({"body": "Hi", "public": "perhaps"}, "public"),
    ({"body": "Hi", "public": True, "author": 1}, "author"),
])
def test_bad_comment_is_422(acme_api, acme, tickets_in, body, field):
    number = tickets_in(acme, 1)[0]
    response = acme_api.post(f"/api/v1/tickets/{number}/comments", json=body)
    assert response.status_code == 422, response.json
    assert list(response.json["errors"]["json"]) == [field]


@pytest.mark.parametrize("query", ["limit=1000", "limit=0", "page=0", "page=x"])
def test_bad_comment_paging_is_422(acme_api, acme, tickets_in, query):
    number = tickets_in(acme, 1)[0]
    response = acme_api.get(f"/api/v1/tickets/{number}/comments?{query}")
    assert response.status_code == 422
    assert list(response.json["errors"]["query"]) == [query.split("=")[0]]
