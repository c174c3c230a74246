"""The queue for keyboard and bulk work, in a real browser: j/k/x/o, the ? dialog, shift-click ranges,
a bulk status change without a page reload, the views sidebar and the changes notice."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Ticket
from app.services import tickets as ticket_service
from tests.conftest import browser_login, make_ticket, make_workspace

pytestmark = pytest.mark.e2e


def _seed(app):
    with app.app_context():
        ws = make_workspace("acme", "Acme")
        for i in range(1, 7):  # the queue shows the last updated first: #6 on top
            make_ticket(ws, subject=f"Ticket number {i}", assignee_id=ws.agent.id if i % 2 else None)
        db.session.remove()
    return ws


def _statuses(app) -> dict[int, str]:
    with app.app_context():
        try:
            return dict(db.session.execute(select(Ticket.number, Ticket.status)).all())
        finally:
            db.session.remove()


def _current_row(page) -> str | None:
    return page.evaluate("document.activeElement && document.activeElement.closest('tr') "
                         "? document.activeElement.closest('tr').id : null")


def test_queue_by_keyboard_and_in_bulk(browser_launch, live_server):
    from playwright.sync_api import expect, sync_playwright

    app = live_server.app
    ws = _seed(app)
    base = live_server.url

    with sync_playwright() as p:
        browser = p.chromium.launch(**browser_launch)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(30_000)
            expect.set_options(timeout=30_000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            failed: list[tuple[int, str]] = []
            page.on("response", lambda r: failed.append((r.status, r.url.replace(base, "")))
                    if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)

            browser_login(page, base, ws.agent.email)
            rows = page.locator("#ticket-results tbody tr")
            expect(rows).to_have_count(6)
            page.evaluate("window.__marker = 1")

            # The sidebar loads its views and counts after the page, and marks none (no filter matches).
            expect(page.locator("#view-mine")).to_contain_text("My open tickets")
            expect(page.locator("#view-mine .view-count")).to_contain_text("3")
            expect(page.locator("#view-unassigned .view-count")).to_contain_text("3")

            # j / k move the current row: focus on its link, a visible marker on the row.
            page.locator("body").press("j")
            expect(page.locator("#ticket-6")).to_have_class(re.compile(r"\bkb-current\b"))
            assert _current_row(page) == "ticket-6"
            page.keyboard.press("j")
            page.keyboard.press("j")
            assert _current_row(page) == "ticket-4"
            page.keyboard.press("k")
            assert _current_row(page) == "ticket-5"
            expect(page.locator("tr.kb-current")).to_have_count(1)
            page.keyboard.press("Control+j")  # with a modifier: not a shortcut
            assert _current_row(page) == "ticket-5"

            # x selects the current row for a bulk change.
            page.keyboard.press("x")
            expect(page.locator("#select-5")).to_be_checked()
            expect(page.locator("#bulk-selected-count")).to_have_text("1")
            page.keyboard.press("x")
            expect(page.locator("#select-5")).not_to_be_checked()

            # ? opens the help dialog listing every shortcut, the ticket page's included; Escape closes it
            # and focus goes back to the row.
            page.keyboard.press("?")
            dialog = page.locator("#shortcuts-help")
            expect(dialog).to_be_visible()
            assert page.evaluate("document.getElementById('shortcuts-help').open") is True
            for text in ("Next ticket", "Previous ticket", "Open the ticket", "Select or unselect",
                         "Search tickets and comments", "Reply to the requester", "Write an internal note",
                         "Assign the ticket to me"):
                expect(dialog).to_contain_text(text)
            page.keyboard.press("j")  # shortcuts sleep while the dialog is open
            page.keyboard.press("Escape")
            expect(dialog).to_be_hidden()
            assert _current_row(page) == "ticket-5"

            # / focuses the top-bar search; typing there is typing, not shortcuts.
            page.keyboard.press("/")
            expect(page.locator("#topbar-q")).to_be_focused()
            page.keyboard.type("jk")
            expect(page.locator("#topbar-q")).to_have_value("jk")
            expect(page.locator("tr.kb-current")).to_have_attribute("id", "ticket-5")
            page.fill("#topbar-q", "")

            # r / n / a are announced for the ticket page's script as a DOM event.
            page.evaluate("window.__keys = []; document.addEventListener('ticketry:shortcut',"
                          " function (e) { window.__keys.push(e.detail.key); })")
            page.locator("#ticket-5 td.subject a").focus()
            for key in ("r", "n", "a"):
                page.keyboard.press(key)
            page.locator("#filter-tag").focus()
            page.keyboard.press("a")  # typing in a field: no event
            assert page.evaluate("window.__keys") == ["r", "n", "a"]
            page.fill("#filter-tag", "")

            # Shift-click selects a range: #5, then shift-click #2 selects 5, 4, 3, 2.
            page.click("#select-5")
            page.click("#select-2", modifiers=["Shift"])
            for n in (5, 4, 3, 2):
                expect(page.locator(f"#select-{n}")).to_be_checked()
            for n in (6, 1):
                expect(page.locator(f"#select-{n}")).not_to_be_checked()
            expect(page.locator("#bulk-selected-count")).to_have_text("4")
            # A shift-click that unselects unselects the range from the last click: 2..4 (5 stays).
            page.click("#select-4", modifiers=["Shift"])
            for n in (4, 3, 2):
                expect(page.locator(f"#select-{n}")).not_to_be_checked()
            expect(page.locator("#select-5")).to_be_checked()
            expect(page.locator("#bulk-selected-count")).to_have_text("1")

            # "Select all on this page" and back.
            page.check("#select-page")
            expect(page.locator("#bulk-selected-count")).to_have_text("6")
            page.uncheck("#select-page")
            expect(page.locator("#bulk-selected-count")).to_have_text("0")
            for n in (2, 3, 4, 5):
                page.check(f"#select-{n}")
            # A focused checkbox is not typing: j moves on from its row.
            page.locator("#select-3").focus()
            page.keyboard.press("j")
            assert _current_row(page) == "ticket-2"

            # A bulk status change: the table refreshes in place and says what happened.
            page.select_option("#bulk-status", "pending")
            page.click("#bulk-apply")
            outcome = page.locator("#bulk-outcome")
            expect(outcome).to_have_text("Status set to Pending on 4 tickets.")
            expect(outcome).to_have_attribute("role", "status")
            expect(outcome).to_be_focused()
            for n in (2, 3, 4, 5):
                expect(page.locator(f"#ticket-{n} .badge")).to_have_text("Pending")
            expect(page.locator("#ticket-results input[name=number]:checked")).to_have_count(0)
            assert _statuses(app) == {1: "new", 2: "pending", 3: "pending", 4: "pending", 5: "pending", 6: "new"}
            assert page.evaluate("window.__marker") == 1, "the queue page was reloaded"

            # Views: the sidebar recounted after the change; a default view marks itself when shown.
            page.goto(f"{base}/tickets?assignee=unassigned&status=new&status=open&status=pending&status=on_hold")
            expect(page.locator("#view-unassigned")).to_have_attribute("aria-current", "page")
            expect(page.locator("#view-mine")).not_to_have_attribute("aria-current", "page")
            expect(rows).to_have_count(3)

            # Someone else changes a ticket of this view: after the next poll the notice says so.
            with app.app_context():
                with ws.uow(ws.lead) as uow:
                    ticket_service.update_ticket(uow, 6, {"priority": "urgent"})
                    uow.commit()
                db.session.remove()
            notice = page.locator(".queue-changes-notice")
            # (the poll runs every 15 s; the test sends the same request now instead of waiting)
            page.evaluate("""htmx.ajax('GET', document.getElementById('queue-changes-poll').getAttribute('hx-get'),
                             {target: '#queue-changes-poll', swap: 'outerHTML'})""")
            expect(notice).to_contain_text("1 ticket updated")
            expect(page.locator(".queue-changes[aria-live=polite]")).to_contain_text("refresh")
            page.get_by_role("link", name="refresh").click()
            expect(notice).to_have_count(0)
            expect(page.locator("#ticket-6 .prio")).to_have_text("Urgent")

            # "All 3 matching this filter": the server runs the view's filter again; the sidebar recounts.
            expect(page.locator("#view-unassigned .view-count")).to_contain_text("3")
            page.click("#bulk-panel > summary")  # nothing is picked, so the bulk panel is folded: open it
            page.check("#bulk-scope-all")
            page.select_option("#bulk-assignee", "me")
            page.click("#bulk-apply")
            expect(page.locator("#bulk-outcome")).to_have_text(f"Assigned to {ws.agent.name} on 3 tickets.")
            expect(rows).to_have_count(0)
            expect(page.locator("#view-unassigned .view-count")).to_contain_text("0")
            expect(page.locator("#view-mine .view-count")).to_contain_text("6")

            # o opens the current row.
            page.goto(f"{base}/tickets")
            page.locator("body").click(position={"x": 5, "y": 5})
            page.keyboard.press("j")
            target = _current_row(page)
            page.keyboard.press("o")
            page.wait_for_url(re.compile(r"/tickets/\d+$"))
            assert page.url.endswith("/tickets/" + target.split("-")[1])

            assert errors == [], errors  # no JavaScript errors (a CSP refusal would be one)
            assert failed == [], failed
        finally:
            browser.close()


def test_background_polls_skip_their_turn_while_the_tab_is_hidden(browser_launch, live_server):
    from playwright.sync_api import expect, sync_playwright

    ws = _seed(live_server.app)
    base = live_server.url
    with sync_playwright() as p:
        browser = p.chromium.launch(**browser_launch)
        try:
            page = browser.new_context().new_page()
            page.set_default_timeout(30_000)
            page.clock.install()  # the 15 s poll interval runs on a clock the test moves
            polls: list[str] = []
            page.on("request", lambda r: polls.append(r.url) if "/tickets/changes" in r.url else None)
            browser_login(page, base, ws.agent.email)
            expect(page.locator("#queue-changes-poll")).to_have_count(1)

            def visibility(state: str) -> None:
                page.evaluate("s => Object.defineProperty(document, 'visibilityState', "
                              "{configurable: true, get: () => s})", state)

            visibility("hidden")
            page.clock.run_for(46_000)  # three turns of the poll
            page.wait_for_timeout(300)
            assert polls == [], polls
            visibility("visible")
            page.clock.run_for(16_000)
            page.wait_for_timeout(500)
            assert len(polls) >= 1, "the poll resumes once the tab is shown again"
        finally:
            browser.close()
