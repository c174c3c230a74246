"""The ticket queue: filters, sorting, pagination, the htmx fragment, and its query budget."""
from __future__ import annotations

import re

import pytest

from app.repositories import ticket_counts
from app.services import tickets as ticket_service
from tests.conftest import make_ticket
from tests.integration.web.conftest import queue_rows, subjects

HTMX = {"HX-Request": "true", "HX-Target": "ticket-results"}


def _set(ws, number, **changes):
    with ws.uow() as uow:
        ticket_service.update_ticket(uow, number, changes)
        uow.commit()


@pytest.fixture
def varied(app, acme):
    """Six tickets with known statuses, priorities, assignees and tags (updated in this order)."""
    with app.app_context():
        make_ticket(acme, subject="Alpha new low", priority="low", tags="billing")
        make_ticket(acme, subject="Bravo open urgent", priority="urgent", assignee_id=acme.agent.id)
        make_ticket(acme, subject="Charlie pending high", priority="high", assignee_id=acme.lead.id, tags="vip, billing")
        make_ticket(acme, subject="Delta on hold", assignee_id=acme.agent.id, tags="vip")
        make_ticket(acme, subject="Echo solved printer")
        make_ticket(acme, subject="Foxtrot 100% done_ok", priority="high")
        _set(acme, 2, status="open")
        _set(acme, 3, status="pending")
        _set(acme, 4, status="on_hold")
        _set(acme, 5, status="solved")
    return acme


def _get(client, query: str = "", **kwargs) -> str:
    response = client.get("/tickets" + query, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def test_default_queue_shows_all_newest_update_first(agent_client, varied):
    html = _get(agent_client)
    assert [n for n, _ in queue_rows(html)] == [5, 4, 3, 2, 6, 1]
    assert "Showing 1–6 of 6 tickets" in html


@pytest.mark.parametrize("query,expected", [
    ("?status=open", {"Bravo open urgent"}),
    ("?status=open&status=pending", {"Bravo open urgent", "Charlie pending high"}),
    ("?status=new&status=solved&status=on_hold",
     {"Alpha new low", "Echo solved printer", "Delta on hold", "Foxtrot 100% done_ok"}),
    ("?priority=high", {"Charlie pending high", "Foxtrot 100% done_ok"}),
    ("?priority=high&status=new", {"Foxtrot 100% done_ok"}),
    ("?assignee=me", {"Bravo open urgent", "Delta on hold"}),
    ("?assignee=unassigned", {"Alpha new low", "Echo solved printer", "Foxtrot 100% done_ok"}),
    ("?assignee={lead}", {"Charlie pending high"}),
    ("?tag=billing", {"Alpha new low", "Charlie pending high"}),
    ("?tag=VIP", {"Charlie pending high", "Delta on hold"}),
    ("?tag=vip&assignee=me", {"Delta on hold"}),
    ("?q=printer", {"Echo solved printer"}),
    ("?q=ECHO", {"Echo solved printer"}),
    ("?q=100%25", {"Foxtrot 100% done_ok"}),  # % is literal, not a wildcard
    ("?q=a_o", set()),  # _ is literal, not a wildcard ("Bravo", "Delta on" would match)
    ("?q=e_o", {"Foxtrot 100% done_ok"}),
    ("?q=nothing+like+this", set()),
])
def test_filters(agent_client, varied, query, expected):
    html = _get(agent_client, query.format(lead=varied.lead.id))
    assert set(subjects(html)) == expected
    if not expected:
        assert "No tickets match these filters." in html


def test_filters_are_kept_in_the_form(agent_client, varied):
    html = _get(agent_client, f"?status=open&status=pending&priority=high&assignee={varied.lead.id}&tag=vip&q=char")
    assert re.search(r'value="open" checked', html) and re.search(r'value="pending" checked', html)
    assert not re.search(r'value="new" checked', html)
    assert '<option value="high" selected>' in html
    assert f'<option value="{varied.lead.id}" selected>' in html
    assert 'name="tag" value="vip"' in html
    assert 'name="q" value="char"' in html


def test_sort_by_priority_and_created(agent_client, varied):
    html = _get(agent_client, "?sort=priority")
    priorities = re.findall(r'<span class="prio prio-(\w+)">', html)
    rank = ["urgent", "high", "normal", "low"]
    assert priorities == sorted(priorities, key=rank.index)
    assert subjects(html)[0] == "Bravo open urgent" and subjects(html)[-1] == "Alpha new low"
    assert [n for n, _ in queue_rows(_get(agent_client, "?sort=created"))] == [6, 5, 4, 3, 2, 1]


def test_unknown_filter_values_are_refused_not_crashing(agent_client, varied):
    for query in ("?status=bogus", "?priority=meh", "?sort=colour"):
        response = agent_client.get("/tickets" + query)
        assert response.status_code == 422, query
    assert agent_client.get("/tickets?assignee=nobody").status_code == 200  # ignored, like "anyone"


def test_twenty_rows_a_page_with_links_and_totals(app, acme, agent_client):
    with app.app_context():
        for i in range(45):
            make_ticket(acme, subject=f"Ticket {i + 1:02d}", priority="high" if i % 3 == 0 else "normal")
    html = _get(agent_client)
    rows = queue_rows(html)
    assert len(rows) == 20 and rows[0][1] == "Ticket 45" and rows[-1][1] == "Ticket 26"
    assert "Showing 1–20 of 45 tickets" in html
    assert 'href="/tickets?page=2"' in html and 'href="/tickets?page=3"' in html
    assert 'href="/tickets?page=4"' not in html
    assert 'rel="next"' in html and 'rel="prev"' not in html
    assert '<span aria-current="page">1</span>' in html

    page3 = _get(agent_client, "?page=3")
    assert [s for _, s in queue_rows(page3)] == [f"Ticket {i:02d}" for i in range(5, 0, -1)]
    assert "Showing 41–45 of 45 tickets" in page3
    assert 'rel="prev"' in page3 and 'rel="next"' not in page3

    # Page links keep the filters; the filtered total is counted.
    filtered = _get(agent_client, "?priority=high&sort=created&page=1")
    assert "of 15 tickets" in filtered
    assert len(queue_rows(filtered)) == 15
    assert "page=2" not in filtered
    two_pages = _get(agent_client, "?status=new&sort=created")
    link = re.search(r'href="(/tickets\?[^"]*page=2[^"]*)"', two_pages).group(1)
    assert "status=new" in link and "sort=created" in link


def test_no_tickets_yet(agent_client):
    html = _get(agent_client)
    assert "No tickets yet." in html
    assert queue_rows(html) == []


def test_htmx_request_gets_only_the_results_fragment(agent_client, varied):
    response = agent_client.get("/tickets?status=open", headers=HTMX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="ticket-results"')
    # The results carry their own bulk-change form, but not the page's filter form.
    assert "<html" not in html and 'class="filters"' not in html and "topbar" not in html
    assert subjects(html) == ["Bravo open urgent"]


def test_full_page_without_htmx_or_for_another_target(agent_client, varied):
    for headers in ({}, {"HX-Request": "true"}, {"HX-Request": "true", "HX-Target": "main"},
                    {"HX-Target": "ticket-results"}):
        html = _get(agent_client, "?status=open", headers=headers)
        assert "<html" in html and 'class="filters"' in html, headers
        assert subjects(html) == ["Bravo open urgent"]


def test_filter_form_and_links_are_wired_for_htmx_with_pushed_urls(agent_client, varied):
    html = _get(agent_client)
    form = re.search(r'<form class="filters"[^>]*>', html, re.S).group(0)
    assert 'method="get"' in form and 'action="/tickets"' in form  # works without JavaScript
    assert 'hx-get="/tickets"' in form and 'hx-target="#ticket-results"' in form and 'hx-push-url="true"' in form


def test_queue_shows_only_this_workspaces_tickets(app, acme, globex, agent_client, globex_client):
    with app.app_context():
        make_ticket(acme, subject="Acme secret plans")
        make_ticket(globex, subject="Globex own ticket")
    for query in ("", "?q=secret", "?status=new", "?sort=priority", "?q=Acme"):
        html = _get(globex_client, query)
        assert "Acme secret plans" not in html
    assert subjects(_get(globex_client)) == ["Globex own ticket"]
    assert subjects(_get(agent_client)) == ["Acme secret plans"]
    # A globex person id as the assignee filter finds nothing in acme.
    assert subjects(_get(agent_client, f"?assignee={acme.agent.id}")) == []


def _seed(app, ws, n):
    with app.app_context():
        people = [ws.agent.id, ws.lead.id, None]
        for i in range(n):
            make_ticket(ws, subject=f"Load {i}", tags=f"t{i % 4}, shared", assignee_id=people[i % 3])


def test_queue_query_count_does_not_grow_with_tickets(app, acme, agent_client, sql_counter):
    # The total and the page are remembered until the next change (ticket_counts.py): each measured
    # request reads its page afresh, with its total remembered by the warm-up.
    _seed(app, acme, 5)
    agent_client.get("/tickets")  # warm-up
    ticket_counts.forget_pages()
    with sql_counter() as few:
        html = _get(agent_client)
    assert len(queue_rows(html)) == 5
    _seed(app, acme, 35)
    agent_client.get("/tickets")  # warm-up again: the total is counted once per change
    agent_client.get("/tickets?page=2", headers=HTMX)
    ticket_counts.forget_pages()
    with sql_counter() as many:
        html = _get(agent_client)
    assert len(queue_rows(html)) == 20
    assert len(many) == len(few), (few, many)
    assert len(few) <= 10, few
    with sql_counter() as fragment:
        agent_client.get("/tickets?page=2", headers=HTMX)
    assert len(fragment) == len(few)
    with sql_counter() as kept:  # asked again: the remembered page, the session lookup alone
        agent_client.get("/tickets?page=2", headers=HTMX)
    assert len(kept) == len(few) - 1, kept


def test_page_past_the_end_says_so_and_links_back(app, acme, agent_client):
    with app.app_context():
        for i in range(3):
            make_ticket(acme, subject=f"Ticket {i}")
    html = _get(agent_client, "?page=9&status=new")
    assert queue_rows(html) == []
    assert "No tickets yet." not in html
    assert "There is no page 9." in html
    assert 'href="/tickets?status=new"' in html
