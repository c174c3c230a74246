"""SLA pages: the dashboard, the settings page, the queue's SLA column and sort, the ticket's SLA card."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import SlaPolicy, Ticket
from tests.conftest import login, make_ticket

HTMX = {"HX-Request": "true", "HX-Target": "sla-results"}


@pytest.fixture
def client_of(app):
    def build(user):
        client = app.test_client()
        assert login(client, user).status_code == 302
        return client
    return build


def test_dashboard_is_for_leads_and_admins(app, acme, client_of):
    assert client_of(acme.agent).get("/sla").status_code == 403
    assert client_of(acme.admin).get("/sla").status_code == 200
    html = client_of(acme.lead).get("/sla").get_data(as_text=True)
    assert "Service levels" in html and 'id="sla-trend"' in html and "<svg" in html
    assert 'href="/sla"' in html  # the nav link
    assert "<script>" not in html and " style=" not in html


def test_dashboard_fragment_and_bad_range(app, acme, client_of):
    lead = client_of(acme.lead)
    fragment = lead.get("/sla?from=2025-06-01&to=2025-06-07", headers=HTMX)
    assert fragment.status_code == 200
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="sla-results"') and "<html" not in body
    assert body.count("<tr><th scope=\"row\">") == 7  # one row per day in the numbers table
    bad = lead.get("/sla?from=2025-06-07&to=2025-06-01")
    assert bad.status_code == 422
    assert "Must not be before" in bad.get_data(as_text=True)


def test_breached_ticket_is_listed_and_linked(app, acme, client_of):
    with app.app_context():
        with time_machine.travel(datetime.now(timezone.utc) - timedelta(days=10), tick=False):
            ticket = make_ticket(acme, subject="Very late", priority="urgent")
        from app.services.sla.sweep import sweep_breaches
        sweep_breaches()
    html = client_of(acme.lead).get("/sla").get_data(as_text=True)
    assert f'href="/tickets/{ticket.number}"' in html and "Very late" in html
    assert re.search(r'id="stat-breached">1<', html)


def test_queue_shows_sla_state_and_sorts_by_due(app, acme, client_of):
    with app.app_context():
        later = make_ticket(acme, subject="Low", priority="low").number
        sooner = make_ticket(acme, subject="Urgent", priority="urgent").number
        with acme.uow() as uow:
            from app.services import tickets
            tickets.update_ticket(uow, make_ticket(acme, subject="Done").number, {"status": "solved"})
            uow.commit()
    agent = client_of(acme.agent)
    html = agent.get("/tickets?sort=due").get_data(as_text=True)
    rows = re.findall(r'<tr id="ticket-(\d+)">', html)
    assert rows[:2] == [str(sooner), str(later)]
    assert 'class="sla sla-ok"' in html or 'class="sla sla-at_risk"' in html or 'class="sla sla-breached"' in html
    assert "left</span>" in html or "overdue" in html
    api = agent.get("/tickets?sort=nonsense")
    assert api.status_code in (200, 422)


def test_ticket_page_shows_both_clocks_and_history(app, acme, client_of):
    with app.app_context():
        number = make_ticket(acme, priority="high").number
    agent = client_of(acme.agent)
    html = agent.get(f"/tickets/{number}").get_data(as_text=True)
    assert 'id="sla-panel"' in html
    assert 'id="sla-clock-first_response"' in html and 'id="sla-clock-resolution"' in html
    assert "SLA history (2)" in html
    # A status change through htmx refreshes the SLA card out of band.
    response = agent.post(f"/tickets/{number}/fields", data={"status": "pending"}, headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert 'id="sla-panel"' in body and 'hx-swap-oob="true"' in body and "Paused" in body


def test_settings_are_for_admins(app, acme, client_of):
    assert client_of(acme.lead).get("/settings/sla").status_code == 403
    html = client_of(acme.admin).get("/settings/sla").get_data(as_text=True)
    assert "Standard" in html and "09:00-17:00" in html and 'id="sla-policies"' in html


def _policy_form(**overrides):
    data = {"name": "VIP", "match_tag": "vip", "business_hours": "y", "warning_percent": "75"}
    for p in ("low", "normal", "high", "urgent"):
        data.update({f"fr_{p}": "30", f"nr_{p}": "", f"res_{p}": "240"})
    data.update(overrides)
    return data


def test_creating_a_policy_with_bad_targets_shows_inline_errors(app, acme, client_of):
    admin = client_of(acme.admin)
    response = admin.post("/settings/sla/policies/new", data=_policy_form(fr_high="0", res_urgent="10"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="fr_high-error"' in html and "from 1 to" in html
    assert 'id="res_urgent-error"' in html and "shorter than the first-response" in html
    response = admin.post("/settings/sla/policies/new", data=_policy_form())
    assert response.status_code == 302
    with app.app_context():
        policy = db.session.scalar(select(SlaPolicy).where(SlaPolicy.name == "VIP"))
        assert policy.match_tag == "vip" and policy.warning_percent == 75 and not policy.is_default
        policy_id = policy.id
    edit = admin.get(f"/settings/sla/policies/{policy_id}")
    assert edit.status_code == 200 and 'value="vip"' in edit.get_data(as_text=True)
    assert admin.post(f"/settings/sla/policies/{policy_id}", data=_policy_form(name="VIP+")).status_code == 302
    assert admin.post(f"/settings/sla/policies/{policy_id}/delete").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(SlaPolicy).where(SlaPolicy.tenant_id == acme.tenant.id,
                                                         SlaPolicy.name.like("VIP%"))) is None


def test_the_default_policy_cannot_be_deleted(app, acme, client_of):
    with app.app_context():
        default_id = db.session.scalar(select(SlaPolicy.id).where(SlaPolicy.tenant_id == acme.tenant.id))
    admin = client_of(acme.admin)
    response = admin.post(f"/settings/sla/policies/{default_id}/delete", follow_redirects=True)
    assert "cannot be deleted" in response.get_data(as_text=True)


def test_business_hours_form(app, acme, client_of):
    admin = client_of(acme.admin)
    data = {"timezone": "America/New_York", "holidays": "2025-12-25 Christmas\n2025-12-26",
            **{f"day_{d}": "09:00-12:00, 13:00-17:00" for d in range(5)}, "day_5": "", "day_6": ""}
    assert admin.post("/settings/sla/calendar", data=data).status_code == 302
    html = admin.get("/settings/sla").get_data(as_text=True)
    assert "America/New_York" in html and "09:00-12:00, 13:00-17:00" in html and "2025-12-25 Christmas" in html
    bad = admin.post("/settings/sla/calendar", data={**data, "timezone": "Mars/Olympus", "day_1": "17:00-09:00",
                                                     "holidays": "christmas"})
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert "ends before it starts" in body and "Not a date" in body


def test_another_tenants_policy_is_not_found(app, acme, globex, client_of):
    with app.app_context():
        theirs = db.session.scalar(select(SlaPolicy.id).where(SlaPolicy.tenant_id == globex.tenant.id))
    assert client_of(acme.admin).get(f"/settings/sla/policies/{theirs}").status_code == 404


def test_ticket_columns_are_filled_for_new_tickets(app, acme):
    with app.app_context():
        number = make_ticket(acme).number
        ticket = db.session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket.sla_state == "ok" and ticket.resolution_due_at is not None
