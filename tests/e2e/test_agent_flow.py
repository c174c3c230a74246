"""An agent's day in a real browser: sign in, filter the queue, work a ticket — without page reloads."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Comment, Ticket
from app.services import tickets as ticket_service
from tests.conftest import browser_login, make_ticket, make_workspace

pytestmark = pytest.mark.e2e


def _seed(app):
    with app.app_context():
        ws = make_workspace("acme", "Acme")
        make_ticket(ws, subject="Mine and open", assignee_id=ws.agent.id)
        make_ticket(ws, subject="Lead's open one", assignee_id=ws.lead.id)
        make_ticket(ws, subject="Fresh unassigned")
        make_ticket(ws, subject="Mine still new", assignee_id=ws.agent.id)
        for number in (1, 2):
            with ws.uow() as uow:
                ticket_service.update_ticket(uow, number, {"status": "open"})
                uow.commit()
        db.session.remove()
    return ws


def _rows(page) -> list[str]:
    return page.locator("#ticket-results tbody td.subject a").all_inner_texts()


def test_agent_flow(browser_launch, live_server):
    from playwright.sync_api import expect, sync_playwright

    ws = _seed(live_server.app)
    base = live_server.url

    with sync_playwright() as p:
        browser = p.chromium.launch(**browser_launch)
        try:
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(30_000)  # generous: CI machines are shared
            expect.set_options(timeout=30_000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            failed: list[tuple[int, str]] = []
            page.on("response", lambda r: failed.append((r.status, r.url.replace(base, ""))) if r.status >= 400 else None)

            # Sign in (CSRF is on: the form's hidden token must travel).
            browser_login(page, base, ws.agent.email)
            assert sorted(_rows(page)) == sorted(["Mine and open", "Lead's open one", "Fresh unassigned",
                                                  "Mine still new"])

            # Filter the queue: the table changes, the URL is pushed, the page is not reloaded.
            page.evaluate("window.__marker = 1")
            history = page.evaluate("history.length")
            page.locator("label.pill-toggle", has_text=re.compile(r"^\s*Open\s*$")).click()
            page.wait_for_url(re.compile(r"/tickets\?(.*&)?status=open"))
            expect(page.locator("#ticket-results tbody tr")).to_have_count(2)
            assert sorted(_rows(page)) == ["Lead's open one", "Mine and open"]
            assert page.evaluate("history.length") == history + 1

            page.select_option("#filter-assignee", "me")
            page.wait_for_url(re.compile(r"assignee=me"))
            expect(page.locator("#ticket-results tbody tr")).to_have_count(1)
            assert _rows(page) == ["Mine and open"]
            assert "status=open" in page.url
            assert page.evaluate("window.__marker") == 1

            # Back restores the previous filter (the URL was pushed, not replaced).
            page.go_back()
            page.wait_for_url(lambda url: "assignee=me" not in url and "status=open" in url)
            expect(page.locator("#ticket-results tbody tr")).to_have_count(2)

            # Open a ticket.
            page.get_by_role("link", name="Mine and open").click()
            page.wait_for_url(f"{base}/tickets/1")
            expect(page.locator("#ticket-status")).to_have_text("Open")
            page.evaluate("window.__marker = 2")

            # Change its status in the side panel: badge, panel and activity update in place.
            page.select_option("#panel-status", "solved")
            expect(page.locator("#ticket-status")).to_have_text("Solved")
            expect(page.locator("#side-panel")).to_contain_text("Saved.")
            expect(page.locator("#activity")).to_contain_text("Solved")
            expect(page.locator("#panel-status")).to_have_value("solved")

            # A public reply: the comment appears, and it reopens the solved ticket.
            page.fill("#reply-form textarea[name=body]", "We have **fixed** the printer.")
            page.click("#reply-form button[type=submit]")
            comment = page.locator("#conversation li.comment.public")
            expect(comment).to_have_count(1)
            expect(comment).to_contain_text("We have fixed the printer.")
            expect(comment.locator(".comment-body strong")).to_have_text("fixed")
            expect(page.locator("#ticket-status")).to_have_text("Open")
            expect(page.locator("#activity li").first).to_contain_text("Open")
            expect(page.locator("#reply-form textarea[name=body]")).to_have_value("")

            # A blank reply (spaces get past the browser's own "required" check) is refused by the server:
            # the error shows in the reply box and the conversation stays as it was.
            page.fill("#reply-form textarea[name=body]", "   ")
            page.click("#reply-form button[type=submit]")
            expect(page.locator("#reply-box .error")).to_contain_text("This field is required.")
            expect(page.locator("#conversation li.comment")).to_have_count(1)

            assert page.evaluate("window.__marker") == 2, "the ticket page was reloaded"
            assert page.url == f"{base}/tickets/1"
            assert errors == [], errors  # no JavaScript errors on any page
            assert failed == [(422, "/tickets/1/comments")], failed  # only the blank reply was refused

            # Signed out behind the page's back: the next filter change goes to the sign-in page
            # (HX-Redirect), instead of swapping the sign-in form into the table.
            page.goto(f"{base}/tickets")
            context.clear_cookies()
            page.locator("label.pill-toggle", has_text=re.compile(r"^\s*Pending\s*$")).click()
            page.wait_for_url(re.compile(r"/login\?next="))
            expect(page.locator("form.filters")).to_have_count(0)  # a real page change, not a swapped fragment
            expect(page.locator("h1")).to_have_text("Sign in")
            assert "next=%2Ftickets" in page.url
        finally:
            browser.close()

    with live_server.app.app_context():
        ticket = db.session.scalar(select(Ticket).where(Ticket.tenant_id == ws.tenant.id, Ticket.number == 1))
        comments = list(db.session.scalars(select(Comment).where(Comment.ticket_id == ticket.id)))
        assert ticket.status == "open" and ticket.solved_at is None
        assert [(c.body, c.public) for c in comments] == [("We have **fixed** the printer.", True)]
        db.session.remove()
