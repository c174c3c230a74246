"""The team lead's SLA dashboard in a real browser: numbers, the SVG trend, the range form, links."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from app.extensions import db
from app.services import comments, tickets
from app.services.sla.sweep import sweep_breaches
from tests.conftest import PASSWORD, make_ticket, make_workspace
from tests.e2e.conftest import chromium_launch_options

pytestmark = pytest.mark.e2e


def _seed(app):
    """Two tickets answered and solved in time yesterday, one breached and still open."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with app.app_context():
        ws = make_workspace("acme", "Acme")
        with time_machine.travel(now - timedelta(days=3), tick=False):
            late = make_ticket(ws, subject="Nobody answered", priority="urgent", assignee_id=ws.agent.id)
        with time_machine.travel(now - timedelta(days=1), tick=False):
            done = [make_ticket(ws, subject=f"Quick {i}", priority="low", assignee_id=ws.agent.id) for i in (1, 2)]
        with time_machine.travel(now - timedelta(days=1) + timedelta(minutes=5), tick=False):
            for ticket in done:
                with ws.uow() as uow:
                    comments.add_comment(uow, ticket.number, body="Done", public=True)
                    tickets.update_ticket(uow, ticket.number, {"status": "solved"})
                    uow.commit()
        sweep_breaches()
        db.session.remove()
    return ws, late


def test_lead_reads_the_sla_dashboard(live_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    launch = chromium_launch_options()
    ws, late = _seed(live_server.app)
    with sync_playwright() as p:
        browser = p.chromium.launch(**launch)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)

        page.goto(f"{live_server.url}/login")
        page.get_by_label("Email").fill(ws.lead.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("navigation", name="Main").get_by_role("link", name="SLA", exact=True).click()
        expect(page).to_have_url(re.compile(r"/sla$"))
        expect(page.get_by_role("heading", name="Service levels")).to_be_visible()

        expect(page.locator("#stat-fr")).to_have_text("100.0 %")
        expect(page.locator("#stat-res")).to_have_text("100.0 %")
        expect(page.locator("#stat-breached")).to_have_text("1")
        chart = page.locator("svg#sla-trend")
        expect(chart).to_be_visible()
        assert chart.locator("polyline").count() == 2
        assert chart.locator("rect.bar").count() >= 1
        expect(page.locator("#by-agent-title")).to_be_visible()
        expect(page.get_by_role("row", name=re.compile(ws.agent.name))).to_be_visible()
        page.screenshot(path=str(tmp_path / "sla.png"), full_page=True)

        # Narrowing the range swaps the results in place (htmx) and keeps the URL shareable.
        results = page.locator("#sla-results")
        results.evaluate("el => el.dataset.marker = 'before'")
        day = (datetime.now(timezone.utc) + timedelta(days=5)).date().isoformat()
        page.locator("#sla-to").fill(day)
        page.locator("#sla-from").fill(day)
        page.locator("#sla-to").dispatch_event("change")
        expect(page.locator("#stat-fr")).to_have_text("—")
        expect(page).to_have_url(re.compile(rf"from={day}"))
        assert page.locator("#sla-results").evaluate("el => el.dataset.marker || ''") == ""

        # A breached ticket links to its page, whose SLA card shows the missed clock.
        page.get_by_role("link", name=re.compile("Nobody answered")).click()
        expect(page).to_have_url(re.compile(rf"/tickets/{late.number}$"))
        panel = page.locator("#sla-panel")
        expect(panel).to_contain_text("Breached")
        expect(panel.locator("#sla-clock-first_response")).to_contain_text("overdue")
        page.screenshot(path=str(tmp_path / "ticket.png"), full_page=True)
        assert not errors, errors
        browser.close()
