"""Every main page works under the Content-Security-Policy in headless Chromium: no violation, no console error.

The policy forbids inline scripts, ``on*=`` handlers and ``style="..."`` attributes.
Chromium reports each refused resource as a ``securitypolicyviolation`` event (recorded
by an init script) and a console error; both are collected on every page, after the
page's htmx interactions ran (filters, live search, side panel, reply) and Swagger UI
rendered the API document.
"""
from __future__ import annotations

import re

import pytest

from sqlalchemy import select

from app.extensions import db
from app.models import EmailMessage, SlaPolicy
from app.services import comments as comment_service
from app.services.webhooks import endpoints as webhook_service
from tests.conftest import PASSWORD, make_ticket, make_workspace
from tests.e2e.conftest import browser_launch, live_app, live_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.e2e

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " +
                    (e.sourceFile || location.pathname) + ":" + e.lineNumber + " " + (e.sample || ""));
});
"""


def _seed(app):
    with app.app_context():
        ws = make_workspace("acme", "Acme")
        for i in range(3):
            ticket = make_ticket(ws, ws.lead, subject=f"Printer {i} on fire", assignee_id=ws.agent.id,
                                 description="It is **really** on fire.\n\n![chart](data:image/png;base64,iVBORw0KGgo=)")
        with ws.uow(ws.agent) as uow:
            comment_service.add_comment(uow, ticket.number, body="Have you tried *turning it off*?", public=True)
            comment_service.add_comment(uow, ticket.number, body="Internal: it is the toner.", public=False)
            uow.commit()
        with ws.uow(ws.admin) as uow:
            endpoint, _ = webhook_service.create_endpoint(uow, url="http://127.0.0.1:9/hook", events=["*"])
            uow.commit()
        # Pages of rows the seed made on the way (an email about the assignment, the default SLA policy).
        extra = [f"/admin/emails/{email_id}" for email_id in db.session.scalars(
            select(EmailMessage.id).where(EmailMessage.tenant_id == ws.tenant.id).limit(1))]
        extra += [f"/settings/sla/policies/{policy_id}" for policy_id in db.session.scalars(
            select(SlaPolicy.id).where(SlaPolicy.tenant_id == ws.tenant.id).limit(1))]
        db.session.remove()
    return ws, endpoint.id, extra


def test_main_pages_log_no_csp_violations(browser_launch, live_server, monkeypatch):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setitem(live_server.app.config, "WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    ws, endpoint_id, extra_pages = _seed(live_server.app)
    assert len(extra_pages) == 2, extra_pages
    base = live_server.url
    problems: list[str] = []

    with sync_playwright() as p:
        browser = p.chromium.launch(**browser_launch)
        try:
            context = browser.new_context()
            context.add_init_script(RECORD_VIOLATIONS)
            page = context.new_page()
            page.set_default_timeout(15_000)
            expect.set_options(timeout=15_000)
            # Failed loads are reported by URL below (the browser's own /favicon.ico and the 404 page are expected).
            page.on("console", lambda m: problems.append(f"console {m.type} on {page.url}: {m.text}")
                    if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
            page.on("pageerror", lambda exc: problems.append(f"page error on {page.url}: {exc}"))
            expected_failures = {"/favicon.ico", "/tickets/999"}
            page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
                    if r.status >= 400 and r.url.replace(base, "") not in expected_failures else None)

            def collect(path: str) -> None:
                violations = page.evaluate("window.__csp || []")
                problems.extend(f"{path}: {v}" for v in violations)

            def visit(path: str, ready: str = "main") -> None:
                page.goto(f"{base}{path}")
                page.wait_for_load_state("networkidle")
                expect(page.locator(ready).first).to_be_visible()
                collect(path)

            visit("/login", "form")
            page.fill("#email", ws.admin.email)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/tickets")

            # The queue with its htmx filters and the live search of the top bar.
            visit("/tickets", "#ticket-results")
            page.locator("label.pill-toggle", has_text=re.compile(r"^\s*New\s*$")).click()
            page.wait_for_url(re.compile(r"status=new"))
            page.fill("#topbar-q", "printer")
            expect(page.locator("#live-results")).to_contain_text("Printer")
            collect("/tickets (after htmx)")

            # A ticket: side panel change and a reply, both swapped in by htmx.
            visit("/tickets/3", "#side-panel")
            page.select_option("#panel-status", "open")
            expect(page.locator("#side-panel")).to_contain_text("Saved.")
            page.fill("#reply-form textarea[name=body]", "A **bold** reply.")
            page.click("#reply-form button[type=submit]")
            expect(page.locator("#conversation li.comment.public")).to_have_count(2)
            collect("/tickets/3 (after htmx)")

            for path in ("/tickets/new", "/search?q=printer", "/admin/people", f"/admin/people/{ws.agent.id}",
                         "/admin/jobs", "/audit", "/webhooks", f"/webhooks/{endpoint_id}",
                         f"/webhooks/{endpoint_id}/deliveries", "/sla", "/settings/sla", "/settings/sla/policies/new",
                         "/notifications", "/settings/notifications", "/admin/emails", *extra_pages, "/tickets/999"):
                visit(path)

            # Swagger UI, started by static/js/swagger-init.js, renders the whole document.
            page.goto(f"{base}/api/v1/docs")
            expect(page.locator(".swagger-ui .info .title")).to_contain_text("Ticketry API")
            expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
            page.locator(".swagger-ui .opblock-summary").first.click()
            page.wait_for_load_state("networkidle")
            collect("/api/v1/docs")
        finally:
            browser.close()

    assert problems == [], "\n".join(problems)
