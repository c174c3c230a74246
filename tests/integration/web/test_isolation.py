"""Tenants never see or touch each other's data through the pages: another tenant's object is a 404."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import ApiToken, Comment, Ticket, User
from tests.conftest import make_ticket
from tests.integration.web.conftest import subjects

HX = {"HX-Request": "true"}


def _acme_ticket(db_read, acme, number):
    return db_read(lambda: (lambda t: (t.status, t.priority, t.subject))(db.session.scalar(
        select(Ticket).where(Ticket.tenant_id == acme.tenant.id, Ticket.number == number))))


def test_ticket_number_only_acme_has_is_404_for_globex(app, acme, globex, globex_client, db_read):
    with app.app_context():
        make_ticket(acme, subject="Acme one")
        make_ticket(acme, subject="Acme two")
        make_ticket(globex, subject="Globex one")
    response = globex_client.get("/tickets/2")
    assert response.status_code == 404
    assert "Acme two" not in response.get_data(as_text=True)
    assert globex_client.post("/tickets/2/fields", headers=HX, data={"status": "open"}).status_code == 404
    assert globex_client.post("/tickets/2/fields", data={"status": "open"}).status_code == 404
    assert globex_client.post("/tickets/2/comments", headers=HX, data={"body": "hi"}).status_code == 404
    assert globex_client.post("/tickets/2/comments", data={"body": "hi"}).status_code == 404
    assert _acme_ticket(db_read, acme, 2) == ("new", "normal", "Acme two")
    assert db_read(lambda: db.session.scalar(select(func.count()).select_from(Comment))) == 0


def test_a_number_both_have_shows_globex_its_own_ticket(app, acme, globex, globex_client, agent_client, db_read):
    with app.app_context():
        make_ticket(acme, subject="Acme confidential", description="acme secret body")
        make_ticket(globex, subject="Globex printer", description="globex body")
    html = globex_client.get("/tickets/1").get_data(as_text=True)
    assert "Globex printer" in html and "globex body" in html
    assert "Acme confidential" not in html and "acme secret body" not in html
    # Changes and replies land on globex's ticket, never acme's.
    assert globex_client.post("/tickets/1/fields", headers=HX, data={"status": "pending"}).status_code == 200
    assert globex_client.post("/tickets/1/comments", headers=HX, data={"kind": "public", "body": "globex reply"}
                              ).status_code == 200
    assert _acme_ticket(db_read, acme, 1) == ("new", "normal", "Acme confidential")
    assert "globex reply" not in agent_client.get("/tickets/1").get_data(as_text=True)
    assert "globex reply" in globex_client.get("/tickets/1").get_data(as_text=True)


def test_globex_queue_never_shows_acme_subjects(app, acme, globex, globex_client):
    with app.app_context():
        for i in range(3):
            make_ticket(acme, subject=f"Acme private {i}", tags="shared", assignee_id=acme.agent.id)
        make_ticket(globex, subject="Globex visible", tags="shared")
    for query in ("", "?tag=shared", "?q=private", "?status=new", "?sort=created", "?page=2",
                  f"?assignee={acme.agent.id}", "?assignee=unassigned"):
        html = globex_client.get("/tickets" + query, headers={"HX-Request": "true", "HX-Target": "ticket-results"}
                                 ).get_data(as_text=True)
        assert "Acme private" not in html, query
    assert subjects(globex_client.get("/tickets").get_data(as_text=True)) == ["Globex visible"]


def test_assignee_choices_are_the_workspaces_people(app, acme, globex, globex_client):
    with app.app_context():
        make_ticket(globex)
    for page in ("/tickets", "/tickets/new", "/tickets/1"):
        html = globex_client.get(page).get_data(as_text=True)
        assert globex.lead.name in html, page
        assert acme.lead.name not in html and acme.agent.name not in html, page


def test_assigning_an_acme_person_from_globex_is_refused(app, acme, globex, globex_client, db_read):
    with app.app_context():
        make_ticket(globex)
    response = globex_client.post("/tickets/1/fields", headers=HX, data={"assignee_id": str(acme.agent.id)})
    assert response.status_code == 422
    assert db_read(lambda: db.session.scalar(select(Ticket.assignee_id).where(Ticket.tenant_id == globex.tenant.id))
                   ) is None


def test_acme_people_pages_are_404_for_globex_admin(acme, globex, globex_admin_client, db_read):
    for user in (acme.admin, acme.agent):
        response = globex_admin_client.get(f"/admin/people/{user.id}")
        assert response.status_code == 404
        assert user.email not in response.get_data(as_text=True)
    for path, data in ((f"/admin/people/{acme.agent.id}/role", {"role": "admin"}),
                       (f"/admin/people/{acme.agent.id}/active", {"active": "0"}),
                       (f"/admin/people/{acme.agent.id}/tokens", {"name": "stolen"})):
        assert globex_admin_client.post(path, data=data).status_code == 404, path
    agent = db_read(lambda: (lambda u: (u.role, u.active))(db.session.get(User, acme.agent.id)))
    assert agent == ("agent", True)
    assert db_read(lambda: db.session.scalar(select(func.count()).select_from(ApiToken))) == 0
    listing = globex_admin_client.get("/admin/people").get_data(as_text=True)
    assert acme.agent.email not in listing and globex.agent.email in listing


def test_acme_token_cannot_be_revoked_by_globex(app, acme, globex, admin_client, globex_admin_client, db_read):
    html = admin_client.post(f"/admin/people/{acme.agent.id}/tokens", data={"name": "acme"}).get_data(as_text=True)
    token_id = int(re.search(r'id="token-(\d+)"', html).group(1))
    # Even through one of globex's own people, acme's token id is not found.
    response = globex_admin_client.post(f"/admin/people/{globex.agent.id}/tokens/{token_id}/revoke")
    assert response.status_code == 404
    assert db_read(lambda: db.session.get(ApiToken, token_id).revoked_at) is None
