"""Stored XSS: hostile text saved everywhere people type, then every page that shows it, rendered inert.

A workspace is built through the services with a payload in every text a
person can store: the workspace name, people's names, a token name, ticket
subjects, descriptions (Markdown), requester names, replies and internal notes,
an edited subject (so the audit log shows a before/after diff), a webhook
description, an SLA policy name and a holiday. The jobs run inline, so
notifications, emails and webhook deliveries are made from that data as well.

Then every page of the page blueprints (and the search box, the audit filters,
the email log) is rendered, and each email template is rendered with the
hostile ticket. Every HTML document is parsed with html.parser: no element,
event-handler attribute, javascript: URL or script text may come from a
payload. Each payload carries a unique marker (``xss<n>``), so text that was
escaped (and shows as text) is told apart from markup that was injected.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from jinja2 import meta
from sqlalchemy import text

from app.extensions import db
from app.services import comments, people, tickets
from app.services.tenants import create_tenant
from app.repositories.unit_of_work import Actor, UnitOfWork
from app.services.webhooks import transport, url_safety
from tests.conftest import PASSWORD, login

TEMPLATES = [
    "<script>alert('{m}')</script>",
    "\"><img src=x onerror=alert('{m}')>",
    "<svg onload=alert('{m}')>",
    "<iframe src=\"javascript:alert('{m}')\"></iframe>",
    "javascript:alert('{m}')",
    "[click](javascript:alert('{m}'))",
    "![pic](javascript:alert('{m}'))",
    "<a href=\"javascript:alert('{m}')\">x</a>",
    "<a href=\"jav&#x09;ascript:alert('{m}')\">y</a>",
    "' onmouseover='alert(\"{m}\")' x='",
    "\" onfocus=\"alert('{m}')\" autofocus x=\"",
    "<details open ontoggle=alert('{m}')>",
    "</textarea><script>alert('{m}')</script>",
    "</title><script>alert('{m}')</script>",
    "</script><script>alert('{m}')</script>",
    "<div hx-get=\"/logout\" hx-trigger=\"load\" hx-on::load=\"alert('{m}')\">{m}</div>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('{m}')>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert('{m}')>\">",
    "<base href=\"javascript:alert('{m}')//\">",
    "<object data=\"javascript:alert('{m}')\"></object>",
    "{{{{ 7*7 }}}} ${{alert('{m}')}} <%= alert('{m}') %>",
]
MARKER = re.compile(r"xss\d+")
DANGEROUS_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "svg", "math", "base", "meta", "link",
                  "style", "applet", "form", "noscript", "template", "details"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background", "srcset",
                  "hx-get", "hx-post", "hx-put", "hx-patch", "hx-delete"}
SCRIPT_ATTRIBUTES = re.compile(r"^(on|hx-on|x-on|@|hx-vals|hx-headers|data-hx-on)")


class Payloads:
    """Hostile strings, each with its own marker; ``next(limit)`` cycles through the corpus."""

    def __init__(self):
        self.count = 0

    def next(self, limit: int = 10_000) -> str:
        self.count += 1
        value = TEMPLATES[self.count % len(TEMPLATES)].format(m=f"xss{self.count}")
        return value[:limit]

    def all(self, limit: int = 50_000) -> str:
        return "\n\n".join(self.next() for _ in TEMPLATES)[:limit]


# -- the inertness check ------------------------------------------------------------------------
@dataclass
class Finding:
    where: str
    what: str


class InertnessCheck(HTMLParser):
    """Markup a payload would have created: elements, event handlers, script URLs, script text."""

    def __init__(self, where: str):
        super().__init__(convert_charrefs=True)
        self.where = where
        self.findings: list[Finding] = []
        self._raw: list[str] = []  # open script/style elements

    def _flag(self, what: str) -> None:
        self.findings.append(Finding(self.where, what))

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            value = value or ""
            marked = MARKER.search(value) or MARKER.search(name)
            if not marked:
                continue
            squashed = re.sub(r"[\s\x00-\x1f]+", "", value).lower()
            if SCRIPT_ATTRIBUTES.match(name):
                self._flag(f"<{tag} {name}={value!r}>: an event handler from a payload")
            elif name in URL_ATTRIBUTES and squashed.startswith(("javascript:", "vbscript:", "data:text/html")):
                self._flag(f"<{tag} {name}={value!r}>: a script URL from a payload")
            elif tag in DANGEROUS_TAGS:
                self._flag(f"<{tag} {name}={value!r}>: a {tag} element from a payload")
            elif name not in ("value", "title", "alt", "placeholder", "aria-label", "content", "data-value",
                              "label") and not name.startswith(("data-", "aria-")) and name not in URL_ATTRIBUTES:
                self._flag(f"<{tag} {name}={value!r}>: a payload in an attribute name or unexpected attribute")
        if tag in ("script", "style"):
            self._raw.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style") and self._raw:
            self._raw.pop()

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._raw:
            self._raw.pop()

    def handle_data(self, data):
        if self._raw and MARKER.search(data):
            self._flag(f"<{self._raw[-1]}> text {data.strip()[:120]!r}: payload text in a script context")


def inert(html: str, where: str) -> list[Finding]:
    check = InertnessCheck(where)
    check.feed(html)
    check.close()
    return check.findings


def test_the_check_catches_injected_markup():
    """The detector itself: unescaped payloads are found, escaped ones are not."""
    from markupsafe import escape

    payload = "<script>alert('xss1')</script><img src=x onerror=alert('xss2')><a href=\"javascript:alert('xss3')\">"
    raw = inert(f"<p>{payload}</p><input value='' onmouseover='alert(\"xss4\")'>", "raw")
    assert len(raw) == 4, raw
    assert inert(f"<p>{escape(payload)}</p><input value=\"{escape(chr(39) + ' onmouseover=x xss5')}\">",
                 "escaped") == []


# -- the hostile workspace ---------------------------------------------------------------------------
@dataclass
class Hostile:
    admin_email: str
    ids: dict = field(default_factory=dict)
    search_words: list[str] = field(default_factory=list)


@pytest.fixture
def hostile(app, monkeypatch):
    monkeypatch.setattr(url_safety, "resolve", lambda host, port: ["203.0.113.7"])
    monkeypatch.setattr(transport, "post", lambda url, body, headers, *, timeout, allowed_hosts:
                        transport.AttemptResult(status_code=500, error="no network in this test"))
    p = Payloads()
    with app.app_context():
        tenant = create_tenant(p.next(100), "hostile", "Europe/Paris")
        with UnitOfWork(tenant, Actor.system("test")) as uow:
            admin = people.create_user(uow, email="admin@hostile.test", name=p.next(120), role="admin",
                                       password=PASSWORD)
            agent = people.create_user(uow, email="agent@hostile.test", name=p.next(120), role="agent",
                                       password=PASSWORD)
            uow.commit()

        def uow_of(user):
            return UnitOfWork(tenant, Actor(type="user", id=user.id, label=user.email, user=user))

        with uow_of(admin) as uow:
            token, _ = people.create_token(uow, agent.id, p.next(120))
            uow.commit()
        from app.services import notifications
        from app.services.sla import policies
        from app.services.webhooks import endpoints

        with uow_of(admin) as uow:
            endpoint, _ = endpoints.create_endpoint(uow, url="https://hooks.example.com/in", events=["*"],
                                                    description=p.next(500), active=True)
            uow.commit()
        with uow_of(admin) as uow:
            policy = policies.create_policy(uow, {"name": p.next(120), "match_tag": "vip",
                                                  "targets": policies.DEFAULT_TARGETS})
            uow.commit()
        with uow_of(admin) as uow:
            view = policies.calendar_view(uow)
            week = {day: [(9 * 60, 17 * 60)] for day in range(5)}
            from datetime import date

            policies.update_calendar(uow, timezone=view.timezone, week=week,
                                     holidays=[(date(2030, 12, 25), p.next(100))])
            uow.commit()
        numbers = []
        for i in range(3):
            with uow_of(agent) as uow:
                ticket = tickets.create_ticket(uow, subject=p.next(200), description=p.all(),
                                               requester_name=p.next(120), requester_email="pat@example.com",
                                               priority="high", assignee_id=admin.id, tags=["vip", f"t{i}"])
                uow.commit()
            numbers.append(ticket.number)
        with uow_of(admin) as uow:
            notifications.follow_ticket(uow, numbers[0])
            uow.commit()
        for public in (True, False, True):
            with uow_of(agent) as uow:
                comments.add_comment(uow, numbers[0], body=p.all(), public=public)
                uow.commit()
        with uow_of(agent) as uow:  # an audit diff with a payload before and after
            tickets.update_ticket(uow, numbers[0], {"subject": p.next(200), "tags": ["vip", "edited"]})
            uow.commit()
        ids = {"number": numbers[0], "user_id": agent.id, "token_id": token.id, "endpoint_id": endpoint.id,
               "policy_id": policy.id}
        for name, sql in (("delivery_id", "SELECT min(id) FROM webhook_deliveries"),
                          ("notification_id", "SELECT min(id) FROM notifications"),
                          ("email_id", "SELECT min(id) FROM email_messages"),
                          ("execution_id", "SELECT min(id) FROM job_executions")):
            try:
                ids[name] = db.session.scalar(text(sql)) or 1
            except Exception:
                db.session.rollback()
                ids[name] = 1
        db.session.remove()
    return Hostile(admin_email="admin@hostile.test", ids=ids, search_words=["alert", "xss", "script", "onerror"])


def _signed_in(app, email: str):
    from app.models import User

    client = app.test_client()
    with app.app_context():
        user = db.session.execute(db.select(User).where(User.email == email)).scalars().one()
        db.session.remove()
    assert login(client, user).status_code == 302
    return client


def _pages(app, hostile: Hostile) -> list[str]:
    from app.web import BLUEPRINTS

    names = {bp.name for bp in BLUEPRINTS}
    adapter = app.url_map.bind("localhost")
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint.split(".")[0] not in names or rule.endpoint == "audit.export":
            continue
        if all(arg in hostile.ids for arg in rule.arguments):
            paths.append(adapter.build(rule.endpoint, {a: hostile.ids[a] for a in rule.arguments}))
    n = hostile.ids["number"]
    for word in hostile.search_words:
        paths += [f"/search?q={word}", f"/search?q={word}&tab=comments", f"/search/live?q={word}",
                  f"/tickets?q={word}"]
    paths += [f"/audit?ticketNumber={n}", "/audit?entityType=Ticket", "/audit?action=UPDATE", "/tickets?tag=vip",
              "/tickets?sort=due"]
    return sorted(set(paths))


def test_every_page_renders_stored_payloads_inert(app, hostile):
    client = _signed_in(app, hostile.admin_email)
    findings, rendered = [], 0
    for path in _pages(app, hostile):
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(path, headers=headers)
            assert response.status_code < 500, f"{path}: {response.status_code}"
            if "html" not in (response.mimetype or "") or response.status_code != 200:
                continue
            rendered += 1
            findings += inert(response.get_data(as_text=True), f"GET {path} {headers or ''}")
    assert rendered >= 20, f"only {rendered} pages rendered"
    assert not findings, "\n".join(f"{f.where}: {f.what}" for f in findings)


def test_payloads_reach_the_pages_as_text(app, hostile):
    """The check above is not vacuous: the stored markers are on the pages, escaped."""
    client = _signed_in(app, hostile.admin_email)
    n = hostile.ids["number"]
    for path in (f"/tickets/{n}", "/tickets", "/audit", "/search?q=alert", "/admin/people"):
        html = client.get(path).get_data(as_text=True)
        assert MARKER.search(html), f"no stored payload shows on {path}"
        assert "&lt;" in html or "&#34;" in html or "&#39;" in html, path


def test_api_search_highlights_are_only_marks(app, hostile):
    """Search highlights are HTML by contract: escaped text and <mark> elements, nothing else."""
    from app.models import User

    with app.app_context():
        agent = db.session.get(User, hostile.ids["user_id"])
        tenant = agent.tenant
        admin = db.session.execute(db.select(User).where(User.email == hostile.admin_email)).scalars().one()
        with UnitOfWork(tenant, Actor(type="user", id=admin.id, label=admin.email, user=admin)) as uow:
            _, secret = people.create_token(uow, admin.id, "highlights")
            uow.commit()
        db.session.remove()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    checked = 0
    for kind in ("tickets", "comments"):
        for word in hostile.search_words:
            body = client.get(f"/api/v1/search/{kind}?q={word}", headers=headers).get_json()
            for hit in body["data"]:
                for name, html in hit["highlights"].items():
                    tags = set(re.findall(r"</?([a-zA-Z][a-zA-Z0-9:-]*)", html))
                    assert tags <= {"mark"}, f"{kind} highlight {name}: {html[:300]}"
                    assert not inert(html, f"{kind} highlight {name}")
                    checked += 1
    assert checked, "no search hit to check"


def test_email_templates_render_payloads_inert(app, hostile):
    """Every templates/email/*.html, with a payload in every variable that is not a link we build,
    and the stored emails the notification jobs made from the hostile tickets."""
    from app.services import mail

    p = Payloads()
    p.count = 500
    findings = []
    with app.test_request_context():
        env = app.jinja_env
        names = [n for n in env.list_templates() if n.startswith("email/") and n.endswith(".html")
                 and not n.split("/")[-1].startswith("_")]
        assert names, "no email templates"
        for name in names:
            source = env.loader.get_source(env, name)[0]
            layout = env.loader.get_source(env, "email/_layout.html")[0]
            variables = meta.find_undeclared_variables(env.parse(source)) | meta.find_undeclared_variables(
                env.parse(layout))
            context = {v: (f"https://ticketry.example/{v}" if v.endswith("_url") else p.next(2000))
                       for v in variables}
            context["ticket_number"] = 7
            context["comment_public"] = False
            _, html = mail.render_email(name.split("/")[-1].removesuffix(".html"), context)
            findings += inert(html, name)
            assert MARKER.search(html), f"{name}: no payload rendered, the check would be vacuous"
        stored = db.session.execute(text("SELECT id, body_html FROM email_messages")).all()
        for email_id, html in stored:
            findings += inert(html or "", f"stored email {email_id}")
        db.session.remove()
    assert not findings, "\n".join(f"{f.where}: {f.what}" for f in findings)
