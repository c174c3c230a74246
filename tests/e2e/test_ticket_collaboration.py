"""Two people on one ticket in two real browser contexts: presence, typing, live updates without a reload,
the reply collision warning, macro insertion, and the r / n / a shortcuts (the ticketry:shortcut event)."""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Comment, Ticket
from app.repositories.unit_of_work import Actor, UnitOfWork
from app.services import macros as macro_service
from app.services import people
from tests.conftest import PASSWORD, browser_login, make_ticket, make_workspace

pytestmark = pytest.mark.e2e


def _seed(app):
    with app.app_context():
        ws = make_workspace("acme", "Acme")
        with UnitOfWork(ws.tenant, Actor.system("test")) as uow:
            sam = people.create_user(uow, email="sam@acme.test", name="Sam", role="agent", password=PASSWORD)
            uow.commit()
        make_ticket(ws, subject="Printer on fire", requester_name="Pat <b>Customer</b>")
        with ws.uow(ws.lead) as uow:
            macro_service.create_macro(uow, {"name": "Need details", "set_status": "pending", "add_tags": "waiting",
                                             "body": "Hi {{requester.name}}, which model is #{{ticket.number}}?"})
            uow.commit()
        db.session.remove()
    return ws, sam.email


def _sign_in(browser, base, email, errors, failed, traffic=None):
    context = browser.new_context()
    page = context.new_page()
    if traffic is not None:  # what this page asked and got, to say why a live update did not arrive
        page.on("response", lambda r: traffic.append(
            f"{time.monotonic():.1f} {r.request.method} {r.url.replace(base, '')} -> {r.status}"))
        page.on("requestfailed", lambda r: traffic.append(f"{time.monotonic():.1f} {r.url.replace(base, '')} FAILED"))
    page.set_default_timeout(30_000)
    page.on("pageerror", lambda exc: errors.append(f"{email}: {exc}"))
    # Failed answers are checked one by one below; any other console error (CSP, scripts) is a finding.
    page.on("console", lambda msg: errors.append(f"{email}: {msg.text}")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    page.on("response", lambda r: failed.append((email, r.status, r.url.replace(base, "")))
            if r.status >= 400 else None)
    browser_login(page, base, email)
    return page


def test_two_people_on_one_ticket(browser_launch, live_server):
    from playwright.sync_api import expect, sync_playwright

    ws, sam_email = _seed(live_server.app)
    base = live_server.url
    expect.set_options(timeout=30_000)  # polls run every 5 s; CI machines are shared
    errors: list[str] = []
    failed: list[tuple[str, int, str]] = []

    with sync_playwright() as p:
        browser = p.chromium.launch(**browser_launch)
        try:
            agent = _sign_in(browser, base, ws.agent.email, errors, failed)
            sam_traffic: list[str] = []
            sam = _sign_in(browser, base, sam_email, errors, failed, sam_traffic)
            agent.goto(f"{base}/tickets/1")
            agent.evaluate("window.__marker = 'no reload'")
            sam.goto(f"{base}/tickets/1")

            # Presence: the agent sees Sam arrive, then type, without reloading.
            presence = agent.locator("#ticket-presence")
            expect(presence).to_have_text(re.compile(r"Sam is viewing"))
            expect(sam.locator("#ticket-presence")).to_have_text(re.compile(r"Agent Acme is viewing"))
            expect(agent.locator("#ticket-announcer")).to_contain_text("Sam is viewing.")
            sam.locator("#reply-form textarea[name=body]").press_sequentially("Looking", delay=30)
            expect(presence).to_have_text(re.compile(r"Sam is typing a reply…"))

            # The agent starts a draft (the page still shows no comment), then Sam sends first.
            agent.fill("#reply-form textarea[name=body]", "My careful answer")
            sam.locator("#reply-form textarea[name=body]").fill("Sam here: it is the **toner**.")
            sam.click("#reply-form button[type=submit]")
            expect(sam.locator("#conversation li.comment")).to_have_count(1)

            # Live update: Sam's reply appears on the agent's page, announced, the draft untouched.
            comment = agent.locator("#conversation li.comment")
            expect(comment).to_have_count(1)
            expect(comment).to_contain_text("Sam here: it is the toner.")
            expect(comment.locator("strong", has_text="toner")).to_have_count(1)
            expect(agent.locator("#ticket-announcer")).to_contain_text("New reply from Sam.")
            expect(agent.locator("#ticket-status")).to_have_text("Open")  # Sam's public reply opened it
            expect(agent.locator("#reply-form textarea[name=body]")).to_have_value("My careful answer")
            expect(presence).to_have_text(re.compile(r"Sam is viewing"))  # sending ended Sam's typing
            sam.locator("#reply-form textarea[name=body]").press_sequentially("More", delay=30)  # at once again
            expect(presence).to_have_text(re.compile(r"Sam is typing a reply…"))

            # Collision: the agent's page was drawn before Sam's reply, so sending is refused once.
            agent.click("#reply-form button[type=submit]")
            warning = agent.locator("#reply-collision")
            expect(warning).to_be_visible()
            expect(warning).to_contain_text("Sam replied while you were writing")
            expect(warning).to_contain_text("Sam here: it is the toner.")
            expect(warning).to_be_focused()
            expect(agent.locator("#reply-form textarea[name=body]")).to_have_value("My careful answer")
            assert _bodies(live_server.app, ws) == ["Sam here: it is the **toner**."]
            agent.get_by_role("button", name="Send anyway").click()
            expect(comment).to_have_count(2)
            expect(agent.locator("#reply-collision")).to_have_count(0)
            expect(agent.locator("#reply-form textarea[name=body]")).to_have_value("")
            assert _bodies(live_server.app, ws) == ["Sam here: it is the **toner**.", "My careful answer"]

            # Sam gets the agent's reply live as well.
            try:
                expect(sam.locator("#conversation li.comment")).to_have_count(2)
            except AssertionError as exc:
                live_url = sam.locator("#ticket-live").get_attribute("hx-get")
                raise AssertionError(f"{exc}\nSam's poll URL: {live_url}; visibility "
                                     f"{sam.evaluate('document.visibilityState')}; now {time.monotonic():.1f}; "
                                     "Sam's last requests:\n" + "\n".join(sam_traffic[-25:])) from exc
            expect(sam.locator("#conversation")).to_contain_text("My careful answer")

            # Macro: picked with the keyboard, inserted into the reply box (text, not HTML), actions on send.
            agent.focus("#macro-select")
            agent.select_option("#macro-select", label="Need details")
            agent.keyboard.press("Tab")
            expect(agent.get_by_role("button", name="Insert")).to_be_focused()
            agent.keyboard.press("Enter")
            box = agent.locator("#reply-form textarea[name=body]")
            expect(box).to_have_value("Hi Pat <b>Customer</b>, which model is #1?")
            expect(box).to_be_focused()
            expect(agent.locator("#macro-status")).to_contain_text("status becomes Pending")
            assert agent.input_value("#reply-macro-id") != ""
            box.press("End")
            box.press_sequentially(" Thanks!")
            agent.click("#reply-form button[type=submit]")
            expect(agent.locator("#ticket-status")).to_have_text("Pending")
            expect(comment).to_have_count(3)
            expect(comment.nth(2)).to_contain_text("Hi Pat <b>Customer</b>, which model is #1? Thanks!")
            # The reply's own answer clears the macro; the live poll may have drawn the comment first.
            expect(agent.locator("#reply-macro-id")).to_have_value("")
            expect(sam.locator("#ticket-status")).to_have_text("Pending")  # live on Sam's page too

            # A live update does not wipe a field being edited: the agent types tags (unsaved) while Sam
            # raises the priority; the rest of the page updates, the tags input keeps the text and focus.
            agent.fill("#panel-tags", "waiting, vip")
            sam.select_option("#panel-priority", "urgent")
            expect(agent.locator("#activity")).to_contain_text("priority")
            expect(agent.locator("#ticket-announcer")).to_contain_text("Sam changed priority.")
            expect(agent.locator("#panel-tags")).to_have_value("waiting, vip")
            expect(agent.locator("#panel-tags")).to_be_focused()
            agent.keyboard.press("Tab")  # leaving the field saves it; the panel is redrawn from the server
            expect(agent.locator("#side-panel")).to_contain_text("Saved.")
            expect(agent.locator("#panel-priority")).to_have_value("urgent")
            expect(agent.locator("#panel-tags")).to_have_value("vip, waiting")

            # Shortcuts (dispatched by shortcuts.js, or here by hand): r, n, a.
            agent.focus("#main")
            agent.evaluate("document.dispatchEvent(new CustomEvent('ticketry:shortcut', {detail: {key: 'n'}}))")
            expect(box).to_be_focused()
            expect(agent.locator('#reply-form input[name=kind][value=internal]')).to_be_checked()
            agent.focus("#main")
            agent.evaluate("document.dispatchEvent(new CustomEvent('ticketry:shortcut', {detail: {key: 'r'}}))")
            expect(box).to_be_focused()
            expect(agent.locator('#reply-form input[name=kind][value=public]')).to_be_checked()
            agent.focus("#main")
            agent.keyboard.press("n")  # the real key, through shortcuts.js
            expect(box).to_be_focused()
            expect(agent.locator('#reply-form input[name=kind][value=internal]')).to_be_checked()
            expect(box).to_have_value("")  # the key itself is not typed into the box
            agent.focus("#main")
            agent.keyboard.press("a")
            expect(agent.locator("#panel-assignee option:checked")).to_have_text("Agent Acme")
            expect(agent.locator("#assign-to-me")).to_have_count(0)
            expect(sam.locator("#panel-assignee option:checked")).to_have_text("Agent Acme")

            assert agent.evaluate("window.__marker") == "no reload"
            assert agent.url == f"{base}/tickets/1"
            assert errors == [], errors  # no script errors, no CSP violations
            assert failed == [(ws.agent.email, 409, "/tickets/1/comments")], failed  # only the refused reply
        finally:
            browser.close()

    with live_server.app.app_context():
        ticket = db.session.scalar(select(Ticket).where(Ticket.tenant_id == ws.tenant.id, Ticket.number == 1)
                                   .options(selectinload(Ticket.tag_rows)))
        assert ticket.status == "pending" and ticket.tags == ["vip", "waiting"] and ticket.assignee_id == ws.agent.id
        assert ticket.priority == "urgent"
        db.session.remove()


def _bodies(app, ws) -> list[str]:
    with app.app_context():
        try:
            return list(db.session.scalars(select(Comment.body).where(Comment.tenant_id == ws.tenant.id)
                                           .order_by(Comment.id)))
        finally:
            db.session.remove()
