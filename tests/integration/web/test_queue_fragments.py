"""The queue's filter form and bulk panel, kept by the values they show (app/web/fragments.py)."""
from __future__ import annotations

import re

import pytest

from app.web import fragments
from tests.conftest import make_ticket


@pytest.fixture
def tickets(app, acme):
    fragments.forget()
    with app.app_context():
        make_ticket(acme, subject="Printer on fire", priority="high")
        make_ticket(acme, subject="Refund twice", priority="low")
    return acme


def _selected(html: str, select_id: str) -> list[str]:
    select = re.search(rf'<select id="{select_id}".*?</select>', html, re.S).group(0)
    return re.findall(r'<option value="([^"]*)" ?selected', select)


def test_the_filter_form_shows_each_requests_filters(agent_client, tickets):
    for priority in ("high", "low", "high"):
        html = agent_client.get(f"/tickets?priority={priority}&q=fire&sort=due").get_data(as_text=True)
        assert _selected(html, "filter-priority") == [priority] and _selected(html, "filter-sort") == ["due"]
        assert 'name="q" value="fire"' in html
    assert any(key[0] == "tickets/_queue_filters.html" for key in fragments._kept)  # kept, not drawn each time


def test_the_bulk_panel_counts_the_matching_tickets(app, agent_client, tickets):
    assert "All 2 matching this filter" in agent_client.get("/tickets").get_data(as_text=True)
    with app.app_context():
        make_ticket(tickets, subject="Third")
    assert "All 3 matching this filter" in agent_client.get("/tickets").get_data(as_text=True)


def test_each_person_keeps_their_own_form_tokens(agent_client, lead_client, tickets):
    """No token is kept: the top bar's sign-out form (a kept fragment, its token live) and the bulk form
    carry the page's own session's token, and two people's tokens differ."""
    tokens = []
    for client in (agent_client, lead_client, agent_client):
        html = client.get("/tickets").get_data(as_text=True)
        token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)
        bulk = re.search(r'<form id="bulk-form".*?</form>', html, re.S).group(0)
        assert re.findall(r'name="csrf_token" value="([^"]+)"', bulk) == [token]
        assert re.findall(r'name="csrf_token" value="([^"]+)"', _topbar(html)) == [token]
        tokens.append(token)
    assert tokens[0] != tokens[1] and tokens[1] != tokens[2]


def _topbar(html: str) -> str:
    return re.search(r'<header class="topbar">.*?</header>', html, re.S).group(0)


def test_the_top_bar_follows_the_person_and_the_page(app, acme, agent_client, admin_client):
    agent_bar = _topbar(agent_client.get("/tickets").get_data(as_text=True))
    admin_bar = _topbar(admin_client.get("/tickets").get_data(as_text=True))
    assert acme.agent.name in agent_bar and ">People</a>" not in agent_bar and ">More</summary>" in agent_bar
    assert acme.admin.name in admin_bar and ">People</a>" in admin_bar and ">Manage</summary>" in admin_bar
    assert '<a href="/tickets" aria-current="page">Tickets</a>' in agent_bar
    people_bar = _topbar(admin_client.get("/admin/people").get_data(as_text=True))
    assert 'aria-current="page">People</a>' in people_bar and 'aria-current="page">Tickets' not in people_bar
    notifications = _topbar(agent_client.get("/notifications").get_data(as_text=True))
    assert re.search(r'class="bell" href="/notifications" aria-current="page"', notifications)


def test_the_top_bar_search_box_keeps_what_was_typed(agent_client):
    bar = _topbar(agent_client.get("/search", query_string={"q": 'refund "<b>"'}).get_data(as_text=True))
    assert 'value="refund &#34;&lt;b&gt;&#34;"' in bar
    assert 'name="q" placeholder="Search tickets and comments…" autocomplete="off"\n               value=""' in \
        _topbar(agent_client.get("/tickets?q=refund").get_data(as_text=True))  # the queue's q is not the search's
