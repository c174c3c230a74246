"""The bell in a real browser: it loads its count, and refreshes after htmx requests without a page reload."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from tests.conftest import browser_login, make_ticket, make_workspace
from tests.e2e.conftest import browser_launch, live_app, live_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.e2e


def test_bell_counts_and_refreshes_after_marking_read_and_following(browser_launch, live_server):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    with live_server.app.app_context():
        ws = make_workspace("acme", "Acme")
        for subject in ("Printer on fire", "VPN down"):
            make_ticket(ws, ws.lead, subject=subject, assignee_id=ws.agent.id)
        other = make_ticket(ws, ws.lead, subject="Not mine").number
        db.session.remove()
    base = live_server.url

    with sync_playwright() as p:
        browser = p.chromium.launch(**browser_launch)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(15_000)
            expect.set_options(timeout=15_000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            browser_login(page, base, ws.agent.email)
            expect(page.locator("#bell-count")).to_have_text(re.compile(r"^2\s*unread$"))

            page.click("#notification-bell a")
            page.wait_for_url(f"{base}/notifications")
            page.evaluate("window.__marker = 1")
            page.locator("#notification-list button", has_text="Mark read").first.click()
            expect(page.locator("#bell-count")).to_have_text(re.compile(r"^1\s*unread$"))
            expect(page.locator("#notification-list .notification.unread")).to_have_count(1)
            assert page.evaluate("window.__marker") == 1  # an htmx swap, not a reload

            page.goto(f"{base}/tickets/{other}")
            page.evaluate("window.__marker = 2")
            page.click(f"#follow-{other} button")
            expect(page.locator(f"#follow-{other} button")).to_have_text("Unfollow")
            assert page.evaluate("window.__marker") == 2

            page.goto(f"{base}/notifications")
            page.click("#notification-list button:has-text('Mark all read')")
            expect(page.locator("#bell-count")).to_have_count(0)
            expect(page.locator("#unread-total")).to_have_text("0 unread")
            assert errors == []
        finally:
            browser.close()
