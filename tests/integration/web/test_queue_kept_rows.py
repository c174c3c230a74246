"""The queue's kept rows (app/web/rows.py): drawn once, kept by their values, never stale."""
from __future__ import annotations

import pytest
from markupsafe import Markup
from sqlalchemy import update

from app.models import User
from app.repositories import ticket_counts
from app.services import tickets as ticket_service
from app.web import rows
from tests.conftest import make_ticket
from tests.integration.web.conftest import queue_rows

HTMX = {"HX-Request": "true", "HX-Target": "ticket-results"}


@pytest.fixture
def two(app, acme):
    rows.forget()
    with app.app_context():
        make_ticket(acme, subject="Printer on fire", assignee_id=acme.agent.id, tags="hardware")
        make_ticket(acme, subject="Refund <b>twice</b>")
    return acme


def _queue(client, query: str = "") -> str:
    response = client.get("/tickets" + query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _row(html: str, number: int) -> str:
    start = html.index(f'<tr id="ticket-{number}">')
    return html[start:html.index("</tr>", start)]


def test_rows_are_kept_and_drawn_the_same(agent_client, two):
    first = _queue(agent_client)
    assert len(rows._kept) == 2
    again = _queue(agent_client)
    assert len(rows._kept) == 2  # the same rows: nothing new kept
    for number in (1, 2):
        assert _row(first, number) == _row(again, number)
    assert "Refund &lt;b&gt;twice&lt;/b&gt;" in _row(again, 2)  # kept HTML is the escaped HTML
    assert queue_rows(again) == [(2, "Refund &lt;b&gt;twice&lt;/b&gt;"), (1, "Printer on fire")]


def test_a_change_to_the_ticket_is_drawn(app, acme, agent_client, two):
    _queue(agent_client)
    with app.app_context():
        with acme.uow() as uow:
            ticket_service.update_ticket(uow, 1, {"status": "pending", "tags": "hardware, urgent-fix"})
            uow.commit()
    row = _row(_queue(agent_client), 1)
    assert "status-pending" in row and '<span class="tag">urgent-fix</span>' in row


def test_a_change_the_ticket_does_not_see_is_drawn(app, acme, agent_client, two):
    """The assignee's name is the user's, not the ticket's: renaming someone leaves the ticket (and its
    update time) as it was, and the row still shows the new name (the key is every value of the row).
    The rename is written directly (no page offers one yet), so the remembered list page is dropped as
    the audited change a rename would make drops it (ticket_counts.py)."""
    assert acme.agent.name in _row(_queue(agent_client), 1)
    with app.app_context():
        from app.extensions import db

        db.session.execute(update(User).where(User.id == acme.agent.id).values(name="Renamed Agent"))
        db.session.commit()
    ticket_counts.forget_pages()
    assert "Renamed Agent" in _row(_queue(agent_client), 1)


def test_the_clock_parts_are_drawn_at_every_request(agent_client, two, monkeypatch):
    """A kept row's "5 minutes ago" and SLA badge are not kept: each request draws them."""
    drawn = []

    def time_tag(value, **clock):
        drawn.append(value)
        return Markup(f"<time>draw {len(drawn)}</time>")

    monkeypatch.setattr(rows, "time_tag", time_tag)
    monkeypatch.setattr(rows, "sla_badge", lambda row, now: Markup(f"<b>badge {len(drawn)}</b>"))
    first = _queue(agent_client)
    second = _queue(agent_client)
    assert "<time>draw 1</time>" in first and "<b>badge 1</b>" in first
    assert "<time>draw 4</time>" in _row(second, 1) and "<b>badge 3</b>" in _row(second, 1)


def test_a_ticked_row_is_another_row(agent_client, two):
    """A refused bulk change draws the queue again with the rows still ticked: the same ticket, ticked or
    not, is two rows."""
    assert "checked" not in _row(_queue(agent_client), 1)  # kept unticked
    response = agent_client.post("/tickets/bulk", headers=HTMX, data={"number": ["1"], "set_status": "nope"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "checked" in _row(html, 1) and "checked" not in _row(html, 2)
    assert "checked" not in _row(_queue(agent_client), 1)


def test_the_store_is_bounded(agent_client, two, monkeypatch):
    monkeypatch.setattr(rows, "MAX_ROWS", 1)
    html = _queue(agent_client)
    assert len(rows._kept) == 1  # full after the first row: emptied before the second was kept
    assert [n for n, _ in queue_rows(html)] == [2, 1]
