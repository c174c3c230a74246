"""The queue's live-update notice: GET /tickets/changes answers 204 until tickets of the filter change."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from app.services import tickets as ticket_service
from tests.conftest import make_ticket

POLL = {"HX-Request": "true", "HX-Target": "queue-changes-poll"}


def _set(app, ws, number, **changes):
    with app.app_context():
        with ws.uow() as uow:
            ticket_service.update_ticket(uow, number, changes)
            uow.commit()


def _poll_url(html: str) -> str:
    match = re.search(r'id="queue-changes-poll"[^>]*?hx-get="([^"]+)"', html, re.S)
    assert match, html[:2000]
    return unescape(match.group(1))


@pytest.fixture
def tickets(app, acme):
    with app.app_context():
        make_ticket(acme, subject="Urgent one", priority="urgent")
        make_ticket(acme, subject="Low one", priority="low")
    return acme


def test_nothing_changed_is_an_empty_204(agent_client, tickets):
    url = _poll_url(agent_client.get("/tickets?priority=urgent").get_data(as_text=True))
    assert urlsplit(url).path == "/tickets/changes"
    assert parse_qs(urlsplit(url).query)["priority"] == ["urgent"]
    response = agent_client.get(url, headers=POLL)
    assert response.status_code == 204 and response.get_data() == b""


def test_a_change_in_the_view_shows_the_notice_once(app, agent_client, tickets):
    html = agent_client.get("/tickets?priority=urgent&page=2").get_data(as_text=True)  # the page is kept
    assert 'class="queue-changes" aria-live="polite"' in html
    url = _poll_url(html)
    _set(app, tickets, 1, status="open")
    response = agent_client.get(url, headers=POLL)
    assert response.status_code == 200
    notice = response.get_data(as_text=True)
    assert "1 ticket updated" in notice and ">refresh</a>" in notice
    assert 'href="/tickets?priority=urgent&amp;page=2"' in notice
    # The notice polls on with known=1: the same count is not swapped (nor announced) again ...
    again = _poll_url(notice)
    assert parse_qs(urlsplit(again).query)["known"] == ["1"]
    assert agent_client.get(again, headers=POLL).status_code == 204
    # ... but a further change is.
    with app.app_context():
        make_ticket(tickets, subject="Another urgent", priority="urgent")
    response = agent_client.get(again, headers=POLL)
    assert response.status_code == 200 and "2 tickets updated" in response.get_data(as_text=True)


def test_a_shown_ticket_that_left_the_view_counts(app, agent_client, tickets):
    url = _poll_url(agent_client.get("/tickets?priority=urgent").get_data(as_text=True))
    assert parse_qs(urlsplit(url).query)["shown"] == ["1"]
    _set(app, tickets, 1, priority="low")  # no longer urgent: it left the view
    response = agent_client.get(url, headers=POLL)
    assert response.status_code == 200 and "1 ticket updated" in response.get_data(as_text=True)


def test_shown_numbers_are_this_workspaces_tickets(app, agent_client, tickets, globex):
    url = _poll_url(agent_client.get("/tickets?priority=urgent").get_data(as_text=True))
    with app.app_context():
        for i in range(3):
            make_ticket(globex, subject=f"Globex {i}", priority="low")  # globex #3 changes; acme has no #3
    crafted = url + "&shown=3&shown=abc&shown=99999999999"
    assert agent_client.get(crafted, headers=POLL).status_code == 204


def test_changes_outside_the_filter_or_workspace_are_not_counted(app, agent_client, tickets, globex):
    url = _poll_url(agent_client.get("/tickets?priority=urgent").get_data(as_text=True))
    _set(app, tickets, 2, status="open")  # low: not in this view
    with app.app_context():
        make_ticket(globex, subject="Globex urgent", priority="urgent")
    assert agent_client.get(url, headers=POLL).status_code == 204


def test_since_is_required_and_must_carry_its_offset(agent_client, tickets):
    assert agent_client.get("/tickets/changes", headers=POLL).status_code == 422
    assert agent_client.get("/tickets/changes?since=2026-11-25T10:00:00", headers=POLL).status_code == 422
    assert agent_client.get("/tickets/changes?since=yesterday", headers=POLL).status_code == 422
    since = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    response = agent_client.get("/tickets/changes", query_string={"since": since}, headers=POLL)
    assert response.status_code == 200 and "2 tickets updated" in response.get_data(as_text=True)


def test_one_count_query(app, agent_client, tickets, sql_counter):
    since = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    agent_client.get("/tickets/changes", query_string={"since": since})  # warm-up
    with sql_counter() as statements:
        agent_client.get("/tickets/changes", query_string={"since": since, "status": "new"})
    on_tickets = [s for s in statements if "FROM tickets" in s]
    assert len(on_tickets) == 1 and "count(" in on_tickets[0].lower() and "updated_at >" in on_tickets[0]


def test_signed_out_polls_are_sent_to_sign_in(app, tickets):
    response = app.test_client().get("/tickets/changes?since=2026-11-25T10:00:00%2B00:00", headers=POLL)
    assert response.status_code == 401 and "/login" in response.headers["HX-Redirect"]


def test_the_agents_own_bulk_change_is_not_announced(app, agent_client, tickets):
    """The results a bulk change draws already show it: their poll starts after the change, not at the
    moment the request began (a GET's data_as_of), so the notice stays for other people's changes."""
    agent_client.get("/tickets")  # the page is remembered
    response = agent_client.post("/tickets/bulk", headers={"HX-Request": "true", "HX-Target": "ticket-results"},
                                 data={"number": ["1", "2"], "set_status": "pending"})
    assert response.status_code == 200
    url = _poll_url(response.get_data(as_text=True))
    assert agent_client.get(url, headers=POLL).status_code == 204
    _set(app, tickets, 1, status="open")  # someone else's change after it is announced
    assert "1 ticket updated" in agent_client.get(url, headers=POLL).get_data(as_text=True)
