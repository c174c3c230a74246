"""What each queue row shows, now that rows are read through Core (TicketRow) and drawn with the
ticket_href and sla_badge globals instead of url_for and a macro."""
from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from flask import url_for
from sqlalchemy import update

from app.models.base import utcnow
from tests.conftest import make_ticket


def _row(html: str, number: int) -> str:
    return re.search(rf'<tr id="ticket-{number}">(.*?)</tr>', html, re.S).group(1)


def test_row_cells(app, acme, agent_client):
    from app.extensions import db
    from app.models import Ticket, User

    with app.app_context():
        make_ticket(acme, subject="Assigned <b>bold</b>", assignee_id=acme.lead.id, tags="zeta, alpha")
        make_ticket(acme, subject="Nobody's")
        make_ticket(acme, subject="Renamed agent", assignee_id=acme.agent.id)
        db.session.execute(update(Ticket).where(Ticket.tenant_id == acme.tenant.id, Ticket.number == 2)
                           .values(sla_state="ok", sla_due_at=utcnow() - timedelta(minutes=5)))
        db.session.execute(update(Ticket).where(Ticket.tenant_id == acme.tenant.id, Ticket.number == 1)
                           .values(sla_state="none", sla_due_at=None))
        db.session.execute(update(User).where(User.id == acme.agent.id).values(name="Ann Former"))
        db.session.commit()
    html = agent_client.get("/tickets").get_data(as_text=True)

    first = _row(html, 1)
    assert '<a href="/tickets/1">Assigned &lt;b&gt;bold&lt;/b&gt;</a>' in first
    assert f"<td>{acme.lead.name}</td>" in first
    assert re.findall(r'<span class="tag">(.*?)</span>', first) == ["alpha", "zeta"]
    assert '<span class="muted small">—</span>' in first  # no SLA

    second = _row(html, 2)
    assert '<span class="muted">Unassigned</span>' in second
    assert '<span class="sla sla-breached">Breached</span><span class="sla-left">overdue 5 min</span>' in second \
        or '<span class="sla sla-breached">Breached</span><span class="sla-left">overdue 4 min</span>' in second
    assert re.findall(r'<span class="tag">', second) == []

    assert "Ann Former" in _row(html, 3)  # the name as it is now, read with the row


def test_ticket_href_is_url_for(app):
    for base in ("http://localhost/", "http://localhost/helpdesk/"):
        with app.test_request_context("/", base_url=base):
            for number in (1, 7, 10, 2**31 - 1):
                from app.web.filters import ticket_href

                assert ticket_href(number) == url_for("tickets.show", number=number)


def test_sla_badge_states(app):
    from app.web.sla import sla_badge

    now = utcnow()
    ticket = dict(sla_due_at=None, reply_warn_at=None, resolution_warn_at=None)
    with app.app_context():
        assert sla_badge(SimpleNamespace(sla_state="none", **ticket)) == '<span class="muted small">—</span>'
        assert sla_badge(SimpleNamespace(sla_state="done", **ticket)) == '<span class="sla sla-done">Done</span>'
        ok = sla_badge(SimpleNamespace(**{**ticket, "sla_state": "ok",
                                          "sla_due_at": now + timedelta(hours=2, minutes=1)}))
        assert ok in ('<span class="sla sla-ok">On track</span><span class="sla-left">2 h 1 min left</span>',
                      '<span class="sla sla-ok">On track</span><span class="sla-left">2 h left</span>')
        at_risk = sla_badge(SimpleNamespace(**{**ticket, "sla_state": "ok", "sla_due_at": now + timedelta(days=3),
                                               "reply_warn_at": now - timedelta(seconds=1)}))
        assert at_risk.startswith('<span class="sla sla-at_risk">At risk</span><span class="sla-left">')



def test_sla_badge_says_what_sla_status_says(app):
    """The kept badge (drawn once per state and minute) reads as the ticket's sla_status at every moment:
    left and overdue, across minute, hour and day boundaries."""
    from markupsafe import escape

    from app.web.sla import sla_badge, sla_status

    now = utcnow()
    base = dict(reply_warn_at=None, resolution_warn_at=None)
    offsets = [-90_000, -3_601, -3_600, -61, -60, -59, -1, 0, 1, 59, 60, 61, 3_599, 3_600, 7_260, 90_061]
    with app.app_context():
        for state in ("ok", "at_risk", "breached"):
            for seconds in offsets:
                ticket = SimpleNamespace(sla_state=state, sla_due_at=now + timedelta(seconds=seconds), **base)
                status = sla_status(ticket, now)
                expected = f'<span class="sla sla-{status.state}">{escape(status.label)}</span>'
                if status.detail:
                    expected += f'<span class="sla-left">{escape(status.detail)}</span>'
                assert sla_badge(ticket, now) == expected, (state, seconds)
        overdue = sla_badge(SimpleNamespace(sla_state="ok", sla_due_at=now - timedelta(minutes=35), **base), now)
        assert overdue == '<span class="sla sla-breached">Breached</span><span class="sla-left">overdue 35 min</span>'
        # what the words are, not only that the two agree
        for seconds, state, detail in [(59, "ok", "0 min left"), (61, "ok", "1 min left"),
                                       (7_260, "ok", "2 h 1 min left"), (90_061, "ok", "1 d 1 h left"),
                                       (-1, "breached", "overdue 0 min"), (-3_601, "breached", "overdue 1 h")]:
            ticket = SimpleNamespace(sla_state="ok", sla_due_at=now + timedelta(seconds=seconds), **base)
            assert sla_status(ticket, now).detail == detail, seconds
            assert sla_badge(ticket, now).endswith(f'<span class="sla-left">{detail}</span>'), seconds
            assert f'sla-{state}"' in sla_badge(ticket, now)

def test_time_tag(app, acme):
    from datetime import datetime, timezone

    from flask_login import login_user

    from app.web.filters import time_tag

    when = datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    from app.extensions import db
    from app.models import User

    with app.test_request_context("/"):
        login_user(db.session.get(User, acme.agent.id))  # Europe/Paris: the title is 04:04 there
        assert time_tag(None) == ""
        assert time_tag(when) == ('<time datetime="2020-01-02T03:04:05+00:00" title="02 Jan 2020, 04:04">'
                                  '02 Jan 2020</time>')
        recent = time_tag(utcnow() - timedelta(minutes=3), 'x" onclick="y')
        assert recent.startswith('<time class="x&#34; onclick=&#34;y" datetime="')
        assert recent.endswith(">3 minutes ago</time>")


def test_static_include_draws_the_shortcuts_once(app, agent_client):
    from app.web.filters import static_include

    env = app.jinja_env
    first = static_include(env, "_shortcuts_help.html")
    assert 'id="shortcuts-help"' in first and "<kbd>Shift</kbd> + <kbd>click</kbd>" in first
    assert static_include(env, "_shortcuts_help.html") is first  # drawn once, reused
    assert str(first) in agent_client.get("/tickets").get_data(as_text=True)  # every page carries it
    env.auto_reload = True
    try:
        assert static_include(env, "_shortcuts_help.html") == first
        env.globals["_static_fragments"].clear()
        assert static_include(env, "_shortcuts_help.html") is not static_include(env, "_shortcuts_help.html")
    finally:
        env.auto_reload = False


def test_rows_carry_only_this_workspaces_tags_and_names(app, acme, globex, agent_client, globex_client):
    with app.app_context():
        make_ticket(acme, subject="Acme one", tags="shared, acme-only", assignee_id=acme.lead.id)
        make_ticket(globex, subject="Globex one", tags="shared, globex-only", assignee_id=globex.lead.id)
    acme_html = agent_client.get("/tickets").get_data(as_text=True)
    globex_html = globex_client.get("/tickets").get_data(as_text=True)
    acme_row, globex_row = _row(acme_html, 1), _row(globex_html, 1)
    assert re.findall(r'<span class="tag">(.*?)</span>', acme_row) == ["acme-only", "shared"]
    assert re.findall(r'<span class="tag">(.*?)</span>', globex_row) == ["globex-only", "shared"]
    assert acme.lead.name in acme_row and globex.lead.name not in acme_html
    assert globex.lead.name in globex_row and "Acme one" not in globex_html


def test_time_tag_keeps_the_fixed_parts_per_zone(app, acme):
    """The instant and title are kept per (value, zone): a workspace in another zone gets its own title."""
    from datetime import datetime, timezone

    from flask import g

    from app.web.filters import time_tag

    when = datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    titles = []
    for zone in ("Europe/Paris", "America/New_York", "Europe/Paris"):
        with app.test_request_context("/"):
            from zoneinfo import ZoneInfo

            g._ticketry_zone = ZoneInfo(zone)
            titles.append(re.search(r'title="([^"]+)"', time_tag(when)).group(1))
    assert titles == ["02 Jan 2020, 04:04", "01 Jan 2020, 22:04", "02 Jan 2020, 04:04"]


@pytest.mark.parametrize("seconds, text", [
    (-3600, "just now"), (0, "just now"), (59.9, "just now"), (60, "1 minute ago"), (119, "1 minute ago"),
    (3599, "59 minutes ago"), (3600, "1 hour ago"), (7200, "2 hours ago"), (86399, "23 hours ago"),
    (86400, "1 day ago"), (30 * 86400 + 86399, "30 days ago"), (31 * 86400, "01 Dec 2019"),
])
def test_how_long_ago_at_each_boundary(app, seconds, text):
    """"How long ago" counts whole minutes, hours and days; a tag drawn again is kept per minute, and the
    next minute's text is drawn anew."""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from app.web.filters import time_tag, timeago

    when = datetime(2019, 12, 1, 12, 0, tzinfo=timezone.utc)
    now = when + timedelta(seconds=seconds)
    with app.test_request_context("/"):
        assert timeago(when, ZoneInfo("UTC"), now) == text
        tag = time_tag(when, zone=ZoneInfo("UTC"), now=now)
        assert tag.endswith(f">{text}</time>")
        assert time_tag(when, zone=ZoneInfo("UTC"), now=now) is tag  # kept
        later = time_tag(when, zone=ZoneInfo("UTC"), now=now + timedelta(minutes=1))
        assert later is not tag and later.startswith('<time datetime="2019-12-01T12:00:00+00:00"')
