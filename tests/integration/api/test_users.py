"""/api/v1/users: the people of the token's workspace."""
from __future__ import annotations

import re

from app.services import people


def test_list_users(app, acme_api, acme):
    response = acme_api.get("/api/v1/users")
    assert response.status_code == 200
    body = response.json
    assert [u["name"] for u in body["data"]] == ["Admin Acme", "Agent Acme", "Lead Acme"]  # by name
    assert body["data"][1].items() >= {"id": acme.agent.id, "email": "agent@acme.test", "name": "Agent Acme",
                                       "role": "agent", "active": True}.items()
    assert body["pagination"] == {"page": 1, "limit": 20, "total": 3, "totalPages": 1,
                                  "hasNext": False, "hasPrev": False}


def test_list_users_shows_inactive_people(app, acme_api, acme):
    with app.app_context():
        with acme.uow(acme.admin) as uow:
            people.set_active(uow, acme.lead.id, False)
            uow.commit()
    lead = next(u for u in acme_api.get("/api/v1/users").json["data"] if u["id"] == acme.lead.id)
    assert lead["active"] is False


def test_users_pages(acme_api):
    body = acme_api.get("/api/v1/users?page=2&limit=2").json
    assert [u["name"] for u in body["data"]] == ["Lead Acme"]
    assert body["pagination"] == {"page": 2, "limit": 2, "total": 3, "totalPages": 2,
                                  "hasNext": False, "hasPrev": True}


def test_users_limit_is_capped(acme_api):
    response = acme_api.get("/api/v1/users?limit=1000")
    assert response.status_code == 422
    assert list(response.json["errors"]["query"]) == ["limit"]
    assert acme_api.get("/api/v1/users?limit=100").status_code == 200


def test_users_never_include_secrets(acme_api):
    for user in acme_api.get("/api/v1/users").json["data"]:
        assert set(user) >= {"id", "email", "name", "role", "active"}
        assert not [key for key in user if re.search("password|nonce|hash|token", key, re.I)]
