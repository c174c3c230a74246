"""/audit: who may see it, filters, htmx fragment, paging, readable changes, CSV export, isolation."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from app.services import people as people_service
from app.services import tickets as ticket_service
from tests.conftest import make_ticket
from tests.integration.audit.conftest import page_row_ids, text_of

CLIENT = {"REMOTE_ADDR": "10.1.2.3"}
UA = "AuditBrowser/1.0 (X11; Linux)"


def _update(app, ws, number, changes, user=None):
    with app.app_context(), ws.uow(user or ws.lead) as uow:
        ticket_service.update_ticket(uow, number, changes)
        uow.commit()


# -- access ---------------------------------------------------------------------------------------
def test_agents_get_403_and_anonymous_visitors_the_login_page(app, acme, client_for, audit_rows):
    agent = client_for(acme.agent)
    assert agent.get("/audit").status_code == 403
    assert agent.get("/audit/export.csv").status_code == 403
    assert audit_rows(acme, action="EXPORT") == []
    anonymous = app.test_client().get("/audit")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_leads_and_admins_get_the_page_and_the_nav_link(acme, client_for):
    for user in (acme.lead, acme.admin):
        client = client_for(user)
        response = client.get("/audit")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert '<a href="/audit" aria-current="page">Audit</a>' in html
        assert 'id="audit-results"' in html
    assert 'href="/audit"' not in client_for(acme.agent).get("/tickets").get_data(as_text=True)


def test_ticket_and_person_pages_link_to_their_audit_trail(app, acme, client_for):
    with app.app_context():
        ticket = make_ticket(acme)
    lead, agent, admin = client_for(acme.lead), client_for(acme.agent), client_for(acme.admin)
    assert f'href="/audit?ticketNumber={ticket.number}"' in lead.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert "/audit?" not in agent.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    person = admin.get(f"/admin/people/{acme.agent.id}").get_data(as_text=True)
    assert f'href="/audit?userId={acme.agent.id}"' in person
    assert f"/audit?entityType=User&amp;entityId={acme.agent.id}" in person


# -- the table ------------------------------------------------------------------------------------
def test_rows_show_readable_changes_actor_source_and_local_time(app, acme, client_for, audit_rows):
    lead = client_for(acme.lead)
    with app.app_context():
        ticket = make_ticket(acme, tags="billing")
    _update(app, acme, ticket.number, {"status": "pending", "tags": ["billing", "vip"], "assignee_id": acme.agent.id})
    row = audit_rows(acme, action="UPDATE", entity_type="Ticket")[-1]

    html = lead.get(f"/audit?ticketNumber={ticket.number}").get_data(as_text=True)
    assert page_row_ids(html)[0] == row.id  # newest first
    text = text_of(html)
    assert "status new → pending" in text
    assert "tags billing → billing, vip" in text
    assert f"assignee none → {acme.agent.id}" in text
    assert "subject Printer on fire" in text  # the CREATE row: a value set, no arrow
    assert acme.lead.email in text and "127.0.0.1" in text and "pytest" in text
    local = row.created_at.astimezone(ZoneInfo("Europe/Paris")).strftime("%d %b %Y, %H:%M:%S")
    assert local in text
    assert f'href="/tickets/{ticket.number}"' in html


def test_empty_states(acme, client_for):
    lead = client_for(acme.lead)
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=2)).date().isoformat()
    text = text_of(lead.get(f"/audit?startDate={tomorrow}").get_data(as_text=True))
    assert "No audit entries match these filters." in text
    beyond = text_of(lead.get("/audit?entityType=User&page=9").get_data(as_text=True))
    assert "There is no page 9." in beyond and "go to the first page" in beyond


def test_filters_by_ticket_entity_person_and_action(app, acme, client_for, audit_rows, api_as):
    lead = client_for(acme.lead)
    with app.app_context():
        one = make_ticket(acme, subject="One")
        two = make_ticket(acme, subject="Two", user=acme.lead)
    _update(app, acme, one.number, {"priority": "high"}, user=acme.agent)
    api_as(acme, acme.agent).post("/api/v1/tickets", json={
        "subject": "Via API", "description": "x", "requester": {"name": "R", "email": "r@example.com"}})

    def listed(query):
        response = lead.get(f"/audit?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return page_row_ids(response.get_data(as_text=True))

    ids_of = lambda rows: sorted((r.id for r in rows), reverse=True)  # noqa: E731
    assert listed(f"ticketNumber={one.number}") == ids_of(audit_rows(acme, ticket_number=one.number))
    assert len(listed(f"ticketNumber={one.number}")) == 2
    assert listed(f"entityType=Ticket&entityId={two.id}") == ids_of(audit_rows(acme, entity_id=str(two.id),
                                                                               entity_type="Ticket"))
    assert listed("entityType=User") == ids_of(audit_rows(acme, entity_type="User"))
    assert listed("action=token_created") == ids_of(audit_rows(acme, action="TOKEN_CREATED"))

    # a person: what they did signed in, and through their tokens
    agent_rows = [r for r in audit_rows(acme) if (r.actor_type, r.actor_id) == ("user", acme.agent.id)
                  or r.actor_type == "token"]
    assert {r.actor_type for r in agent_rows} == {"user", "token"}
    assert listed(f"userId={acme.agent.id}") == ids_of(agent_rows)
    assert listed(f"userId={acme.lead.id}&action=CREATE") == ids_of(
        [r for r in audit_rows(acme, action="CREATE") if r.actor_id == acme.lead.id and r.actor_type == "user"])


def test_date_range_uses_the_workspace_time_zone(app, acme, client_for, audit_rows):
    lead = client_for(acme.lead)
    rows = audit_rows(acme)
    first, last = (r.created_at.astimezone(ZoneInfo("Europe/Paris")).date() for r in (rows[0], rows[-1]))
    yesterday = first - timedelta(days=1)
    assert page_row_ids(lead.get(f"/audit?startDate={first}&endDate={last}").get_data(as_text=True)) == \
        sorted((r.id for r in rows), reverse=True)
    assert page_row_ids(lead.get(f"/audit?endDate={yesterday}").get_data(as_text=True)) == []


def test_bad_dates_answer_422_with_a_message_per_field(acme, client_for):
    lead = client_for(acme.lead)
    response = lead.get("/audit?startDate=yesterday&ticketNumber=abc")
    assert response.status_code == 422
    text = text_of(response.get_data(as_text=True))
    assert "From : Use an ISO date" in text and "Ticket # : Must be a whole number." in text
    assert re.search(r'id="audit-startDate"[^>]*aria-invalid="true"', response.get_data(as_text=True))
    response = lead.get("/audit?startDate=2024-05-02&endDate=2024-05-01")
    assert response.status_code == 422
    assert "To : Must be after the start date." in text_of(response.get_data(as_text=True))


def test_htmx_request_gets_only_the_results_fragment(acme, client_for, audit_rows):
    lead = client_for(acme.lead)
    response = lead.get("/audit?entityType=User", headers={"HX-Request": "true", "HX-Target": "audit-results"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="audit-results"') and "<html" not in html and "<form" not in html
    assert page_row_ids(html) == [r.id for r in reversed(audit_rows(acme, entity_type="User"))]
    full = lead.get("/audit?entityType=User").get_data(as_text=True)
    assert "<html" in full and 'hx-get="/audit"' in full and 'hx-push-url="true"' in full
    assert 'hx-target="#audit-results"' in full


def test_pages_of_results(app, acme, client_for, audit_rows):
    lead = client_for(acme.lead)
    with app.app_context():
        for i in range(4):
            make_ticket(acme, subject=f"T{i}")
    newest_first = [r.id for r in reversed(audit_rows(acme))]  # 4 setup + the lead's LOGIN + 4 tickets
    first = lead.get("/audit?limit=3").get_data(as_text=True)
    second = lead.get("/audit?limit=3&page=2").get_data(as_text=True)
    assert page_row_ids(first) == newest_first[:3] and page_row_ids(second) == newest_first[3:6]
    assert 'href="/audit?limit=3&amp;page=2"' in first or 'href="/audit?page=2&amp;limit=3"' in first
    assert "of 9 entries" in text_of(first)
    assert 'href="/audit/export.csv"' in first  # the export takes the filters, not the page size


def test_default_page_size_is_50(app, acme, client_for, audit_rows):
    lead = client_for(acme.lead)
    with app.app_context(), acme.uow(acme.lead) as uow:
        for i in range(50):
            uow.audit("UPDATE", "Ticket", i)
        uow.commit()
    html = lead.get("/audit").get_data(as_text=True)
    assert len(audit_rows(acme)) == 55
    assert len(page_row_ids(html)) == 50 and "of 55 entries" in text_of(html)


# -- CSV export -----------------------------------------------------------------------------------
def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_csv_export_of_the_current_filter_is_streamed_and_audited(app, acme, client_for, audit_rows):
    lead = client_for(acme.lead)
    with app.app_context():
        ticket = make_ticket(acme)
        make_ticket(acme, subject="Other")
    _update(app, acme, ticket.number, {"status": "open"})
    html = lead.get(f"/audit?ticketNumber={ticket.number}").get_data(as_text=True)
    assert f'href="/audit/export.csv?ticketNumber={ticket.number}"' in html

    response = lead.get(f"/audit/export.csv?ticketNumber={ticket.number}", environ_base=CLIENT,
                        headers={"User-Agent": UA})
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="audit-acme-')
    lines = _csv(response)
    assert list(lines[0]) == ["created_at", "actor_type", "actor_label", "action", "entity_type", "entity_id",
                              "ticket_number", "changes", "ip_address", "user_agent", "request_id"]
    assert [(r["action"], r["ticket_number"]) for r in lines] == [("UPDATE", str(ticket.number)),
                                                                   ("CREATE", str(ticket.number))]
    assert json.loads(lines[0]["changes"]) == {"before": {"status": "new"}, "after": {"status": "open"}}
    assert datetime.fromisoformat(lines[0]["created_at"]).tzinfo is not None

    export = audit_rows(acme, action="EXPORT")
    assert len(export) == 1
    row = export[0]
    assert (row.actor_type, row.actor_id, row.entity_type) == ("user", acme.lead.id, "AuditLog")
    assert row.changes == {"format": "csv", "filters": {"ticket_number": ticket.number}}
    assert (row.ip_address, row.user_agent) == ("10.1.2.3", UA)


def test_csv_cells_cannot_run_as_spreadsheet_formulas(app, acme, client_for):
    lead = client_for(acme.lead)
    evil = '=HYPERLINK("http://evil.example","x")'
    lead.post("/tickets/new", data={"subject": "S", "description": "D", "requester_name": "R",
                                    "requester_email": "r@example.com", "priority": "normal"},
              headers={"User-Agent": evil})
    rows = _csv(lead.get("/audit/export.csv?entityType=Ticket"))
    assert [r["user_agent"] for r in rows] == ["'" + evil]


def test_invalid_export_filter_is_422_and_not_audited(acme, client_for, audit_rows):
    lead = client_for(acme.lead)
    assert lead.get("/audit/export.csv?endDate=nope").status_code == 422
    assert audit_rows(acme, action="EXPORT") == []


# -- isolation ------------------------------------------------------------------------------------
def test_another_workspace_never_sees_acme_rows(app, acme, globex, client_for, audit_rows):
    with app.app_context():
        ticket = make_ticket(acme, subject="Acme secret plans")
    globex_lead = client_for(globex.lead)
    globex_ids = {r.id for r in audit_rows(globex)}
    acme_ids = {r.id for r in audit_rows(acme)}

    html = globex_lead.get("/audit").get_data(as_text=True)
    assert set(page_row_ids(html)) <= globex_ids | {r.id for r in audit_rows(globex)}
    assert not set(page_row_ids(html)) & acme_ids
    assert "acme.test" not in html and "Acme secret plans" not in html
    for query in (f"ticketNumber={ticket.number}", f"entityType=Ticket&entityId={ticket.id}",
                  f"userId={acme.agent.id}"):
        assert page_row_ids(globex_lead.get(f"/audit?{query}").get_data(as_text=True)) == []

    exported = globex_lead.get("/audit/export.csv").get_data(as_text=True)
    assert "acme" not in exported.lower()
    assert "globex" in exported


# -- what the login page and other pages record -------------------------------------------------
def test_login_logout_and_failed_login_are_audited_with_ip_and_agent(app, acme, audit_rows):
    client = app.test_client()
    wrong = client.post("/login", data={"email": acme.agent.email, "password": "Wr0ng-Password!"},
                        environ_base=CLIENT, headers={"User-Agent": UA})
    assert wrong.status_code == 422
    client.post("/login", data={"email": acme.agent.email, "password": "demo-password"},
                environ_base=CLIENT, headers={"User-Agent": UA})
    client.post("/logout", environ_base=CLIENT, headers={"User-Agent": UA})

    rows = [r for r in audit_rows(acme) if r.action in ("LOGIN", "LOGIN_FAILED", "LOGOUT")]
    assert [r.action for r in rows] == ["LOGIN_FAILED", "LOGIN", "LOGOUT"]
    failed, login_row, logout_row = rows
    assert failed.changes == {"attempted_email": acme.agent.email, "reason": "bad credentials"}
    assert (failed.actor_type, failed.actor_label, failed.entity_type, failed.entity_id) == \
        ("anonymous", acme.agent.email, "User", str(acme.agent.id))
    for row in rows:
        assert (row.ip_address, row.user_agent) == ("10.1.2.3", UA)
        assert row.request_id
        assert "Wr0ng-Password!" not in json.dumps(row.changes) + row.actor_label
    for row in (login_row, logout_row):
        assert (row.actor_type, row.actor_id, row.entity_type, row.entity_id) == \
            ("user", acme.agent.id, "User", str(acme.agent.id))


def test_page_request_records_ip_and_user_agent(app, acme, client_for, audit_rows):
    lead = client_for(acme.lead)
    response = lead.post("/tickets/new", data={"subject": "From the page", "description": "D", "requester_name": "R",
                                                "requester_email": "r@example.com", "priority": "normal"},
                         environ_base=CLIENT, headers={"User-Agent": UA, "X-Request-ID": "req-123"})
    assert response.status_code == 302
    row = audit_rows(acme, action="CREATE", entity_type="Ticket")[-1]
    assert (row.actor_type, row.actor_id) == ("user", acme.lead.id)
    assert (row.ip_address, row.user_agent, row.request_id) == ("10.1.2.3", UA, "req-123")
    html = lead.get("/audit?entityType=Ticket").get_data(as_text=True)
    assert "10.1.2.3" in html and "AuditBrowser/1.0" in html


def test_people_changes_made_on_pages_show_on_the_audit_page(app, acme, client_for, audit_rows):
    admin = client_for(acme.admin)
    admin.post(f"/admin/people/{acme.agent.id}/role", data={"role": "lead"})
    html = admin.get(f"/audit?entityType=User&entityId={acme.agent.id}").get_data(as_text=True)
    assert "role agent → lead" in text_of(html)
    with app.app_context(), acme.uow(acme.admin) as uow:
        people_service.set_password(uow, acme.agent.id, "An0ther-Secret-Pass")
        uow.commit()
    assert "An0ther-Secret-Pass" not in admin.get("/audit/export.csv").get_data(as_text=True)
