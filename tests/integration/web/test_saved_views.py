"""Saved views: defaults, private and shared views, who manages what, counts and their query budget, isolation."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog
from app.models.views import SavedView
from app.services import saved_views
from app.services import tickets as ticket_service
from tests.conftest import make_ticket
from tests.integration.web.conftest import subjects

HTMX = {"HX-Request": "true"}
# Wednesday 25 November 2026, 10:00 in Paris (acme's time zone): inside business hours.
WEDNESDAY = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def _counts(html: str) -> dict[str, int]:
    """{view name: count} from the sidebar fragment."""
    found = re.findall(r'<span class="view-name">(.*?)</span>\s*<span class="view-count">(\d+)<', html, re.S)
    return {name: int(n) for name, n in found}


def _sidebar(client) -> str:
    response = client.get("/tickets/views", headers=HTMX)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _view_ids(db_read) -> dict[str, int]:
    return db_read(lambda: {v.name: v.id for v in db.session.scalars(select(SavedView))})


@pytest.fixture
def queue(app, acme):
    """Tickets at known SLA moments: two breached, one due within the hour, two due later."""
    with app.app_context():
        with time_machine.travel(MONDAY, tick=False):
            make_ticket(acme, subject="Old urgent, breached", priority="urgent", assignee_id=acme.agent.id)
            make_ticket(acme, subject="Old normal, breached", priority="normal")
        with time_machine.travel(WEDNESDAY, tick=False):
            make_ticket(acme, subject="Fresh urgent", priority="urgent", assignee_id=acme.agent.id)
            make_ticket(acme, subject="Fresh normal", priority="normal", assignee_id=acme.lead.id)
            make_ticket(acme, subject="Fresh low solved", priority="low")
            with acme.uow() as uow:
                ticket_service.update_ticket(uow, 5, {"status": "solved"})
                uow.commit()
    return acme


def test_default_views_are_there_without_setup_with_live_counts(client_for, queue):
    with time_machine.travel(WEDNESDAY, tick=False):  # signed in on Wednesday too: sessions start at sign-in
        client = client_for(queue.agent)
        html = _sidebar(client)
        assert subjects(client.get("/tickets?sla=due_soon&sort=due").get_data(as_text=True)) == ["Fresh urgent"]
        breached = client.get("/tickets?sla=breached&sort=due").get_data(as_text=True)
    assert _counts(html) == {"My open tickets": 2, "Unassigned": 1, "Due soon": 1, "Breached": 2}
    assert "<html" not in html
    assert sorted(subjects(breached)) == ["Old normal, breached", "Old urgent, breached"]
    assert '<option value="breached" selected>Breached</option>' in breached  # the filter form shows the view


def test_counts_follow_the_viewer_and_the_clock(client_for, queue):
    with time_machine.travel(WEDNESDAY, tick=False):
        assert _counts(_sidebar(client_for(queue.lead)))["My open tickets"] == 1
    # Three hours later the normal ticket (due Thursday 10:00 Paris) is not due yet; the urgent one breached
    # (due 11:00 Paris: a deadline passed since the last sweep counts, as on the SLA badge).
    with time_machine.travel(datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc), tick=False):
        counts = _counts(_sidebar(client_for(queue.agent)))
    assert counts["Breached"] == 3 and counts["Due soon"] == 0


def test_an_agent_saves_a_private_view_of_the_current_filter(agent_client, client_for, queue, db_read):
    response = agent_client.post("/tickets/views?priority=urgent&sort=priority&page=3&assignee=nobody",
                                 data={"name": "  Urgent   first "})
    assert response.status_code == 302
    assert response.headers["Location"] == "/tickets?priority=urgent&sort=priority"
    view = db_read(lambda: db.session.scalars(select(SavedView)).one())
    assert (view.name, view.shared, view.owner_id) == ("Urgent first", False, queue.agent.id)
    assert view.filters == {"priority": ["urgent"], "sort": ["priority"]}
    assert _counts(_sidebar(agent_client))["Urgent first"] == 2
    assert "Urgent first" not in _sidebar(client_for(queue.lead))  # private
    audit = db_read(lambda: db.session.scalars(select(AuditLog).where(AuditLog.entity_type == "SavedView")).one())
    assert audit.action == "CREATE" and audit.actor_id == queue.agent.id


def test_only_leads_and_admins_share_views(agent_client, lead_client, admin_client, client_for, queue, db_read):
    refused = agent_client.post("/tickets/views?status=open", data={"name": "Team", "shared": "1"})
    assert refused.status_code == 403
    assert db_read(lambda: db.session.scalars(select(SavedView)).all()) == []
    assert 'name="shared"' not in agent_client.get("/tickets").get_data(as_text=True)
    assert 'name="shared"' in lead_client.get("/tickets").get_data(as_text=True)

    assert lead_client.post("/tickets/views?assignee=unassigned", data={"name": "Triage", "shared": "1"}).status_code == 302
    assert admin_client.post("/tickets/views?tag=vip", data={"name": "VIP", "shared": "1"}).status_code == 302
    html = _sidebar(agent_client)
    assert {"Triage", "VIP"} <= set(_counts(html))
    assert html.index("Shared") < html.index("Triage")


def test_owners_manage_private_views_and_leads_manage_shared(agent_client, lead_client, client_for, queue, db_read):
    agent_client.post("/tickets/views?status=open", data={"name": "Mine"})
    lead_client.post("/tickets/views?status=pending", data={"name": "Team", "shared": "1"})
    ids = _view_ids(db_read)
    other_agent_client = client_for(queue.admin)

    # Someone else's private view does not exist for you, even for an admin.
    assert other_agent_client.post(f"/tickets/views/{ids['Mine']}/rename", data={"name": "X"}).status_code == 404
    assert other_agent_client.post(f"/tickets/views/{ids['Mine']}/delete").status_code == 404
    # An agent sees the shared view but cannot change it.
    assert agent_client.post(f"/tickets/views/{ids['Team']}/rename", data={"name": "X"}).status_code == 403
    assert agent_client.post(f"/tickets/views/{ids['Team']}/delete").status_code == 403

    assert agent_client.post(f"/tickets/views/{ids['Mine']}/rename", data={"name": "Open ones"}).status_code == 302
    assert other_agent_client.post(f"/tickets/views/{ids['Team']}/rename", data={"name": "Waiting"}).status_code == 302
    assert set(_view_ids(db_read)) == {"Open ones", "Waiting"}
    page = agent_client.get("/tickets/views").get_data(as_text=True)
    assert f'action="/tickets/views/{ids["Mine"]}/delete"' in page
    assert f'action="/tickets/views/{ids["Team"]}/delete"' not in page  # an agent gets no buttons for it

    assert agent_client.post(f"/tickets/views/{ids['Mine']}/delete").status_code == 302
    assert lead_client.post(f"/tickets/views/{ids['Team']}/delete").status_code == 302
    assert _view_ids(db_read) == {}


def test_names_are_checked(agent_client, lead_client, queue, db_read):
    agent_client.post("/tickets/views?status=open", data={"name": "Open"})
    response = agent_client.post("/tickets/views?status=new", data={"name": "open"}, follow_redirects=True)
    assert "There is already a private view named" in response.get_data(as_text=True)
    response = agent_client.post("/tickets/views?status=new", data={"name": "   "}, follow_redirects=True)
    assert "Give the view a name." in response.get_data(as_text=True)
    # Another person may use the same private name; a shared name is its own namespace.
    assert lead_client.post("/tickets/views?status=new", data={"name": "Open"}).status_code == 302
    assert lead_client.post("/tickets/views?status=new", data={"name": "Open", "shared": "1"}).status_code == 302
    assert len(db_read(lambda: db.session.scalars(select(SavedView)).all())) == 3


def test_a_person_has_a_handful_of_views(agent_client, queue, monkeypatch):
    monkeypatch.setattr(saved_views, "MAX_VIEWS", 2)
    for name in ("One", "Two"):
        assert agent_client.post("/tickets/views", data={"name": name}).status_code == 302
    response = agent_client.post("/tickets/views", data={"name": "Three"}, follow_redirects=True)
    assert "At most 2 private views" in response.get_data(as_text=True)


def test_views_are_isolated_between_workspaces(agent_client, globex_client, globex_admin_client, queue, db_read):
    agent_client.post("/tickets/views?status=open", data={"name": "Acme private"})
    ids = _view_ids(db_read)
    assert globex_admin_client.post("/tickets/views", data={"name": "Globex shared", "shared": "1"}).status_code == 302
    assert "Acme private" not in _sidebar(globex_client)
    assert "Globex shared" not in _sidebar(agent_client)
    for path in (f"/tickets/views/{ids['Acme private']}/rename", f"/tickets/views/{ids['Acme private']}/delete"):
        assert globex_admin_client.post(path, data={"name": "Mine now"}).status_code == 404
    assert "Acme private" in _view_ids(db_read)
    # Counts are the viewer's workspace only.
    assert _counts(_sidebar(globex_client))["Unassigned"] == 0


def test_sidebar_queries_one_per_view_and_no_more(app, agent_client, lead_client, queue, sql_counter):
    _sidebar(agent_client)  # warm-up
    with sql_counter() as few:
        _sidebar(agent_client)
    for i in range(3):
        agent_client.post("/tickets/views?status=open", data={"name": f"Mine {i}"})
    lead_client.post("/tickets/views?priority=high", data={"name": "Shared", "shared": "1"})
    with sql_counter() as first:
        _sidebar(agent_client)
    with sql_counter() as more:
        html = _sidebar(agent_client)
    assert len(_counts(html)) == 8
    # Saving views changed the workspace, so the first load counts each distinct filter once (the three
    # "Mine" views share one); later loads read remembered counts by their key (the tenant's audit
    # position, loaded with the signed-in user: no query), except the two SLA views, which the clock
    # moves: counted every time.
    def counts(statements):
        return [s for s in statements if "count(" in s.lower() and "tickets" in s]

    assert len(counts(first)) == 6
    assert len(more) == len(few)  # no query per added view: no N+1 on owners, tickets or counts
    assert len(counts(more)) == 2 and all("sla_" in s for s in counts(more))


def test_the_queue_page_loads_the_sidebar_lazily_and_marks_views(agent_client, queue):
    html = agent_client.get("/tickets").get_data(as_text=True)
    assert 'id="queue-views"' in html and 'hx-get="/tickets/views"' in html
    assert "ticketry:queue-changed from:body" in html  # recounted after a bulk change
    sidebar = _sidebar(agent_client)
    assert 'data-view-query="assignee=me&amp;status=new&amp;status=on_hold&amp;status=open&amp;status=pending"' in sidebar
    assert 'href="/tickets?sla=due_soon&amp;sort=due"' in sidebar


def test_without_javascript_views_have_their_own_page(agent_client, queue):
    response = agent_client.get("/tickets/views")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html
    for name in ("My open tickets", "Unassigned", "Due soon", "Breached"):
        assert name in html


def test_canonical_query_ignores_order_paging_and_the_default_sort():
    a = saved_views.canonical_query({"status": ["open", "new"], "sort": ["updated"], "tag": ["VIP"]})
    b = saved_views.canonical_query({"tag": ["vip"], "status": ["new", "open"], "page": ["2"]})
    assert a == b == "status=new&status=open&tag=vip"


def test_a_filter_the_queue_refuses_cannot_be_saved(agent_client, queue, db_read):
    response = agent_client.post("/tickets/views?status=bogus", data={"name": "Broken"}, follow_redirects=True)
    assert "Unknown status" in response.get_data(as_text=True)
    assert _view_ids(db_read) == {}
