"""Every page form, fuzzed with Hypothesis: no 5xx, and refused input changes nothing.

The forms are discovered, not listed: every page of the page blueprints is
opened (as an admin, and signed out for /login), every <form> on it is parsed
(inputs, selects with their options, textareas, checkboxes), and each form is
posted with values drawn per field: any unicode, control characters (NUL
included), huge strings, HTML/script payloads, numbers out of range, empty,
and the field's own valid values. A form added later is fuzzed without
touching this file; the coverage test fails when a POST route of a page
blueprint is reachable from no page.

After each request:
- never a 5xx (the test app propagates exceptions, so a crash fails too);
- a refusal (4xx, or a redirect to a page showing an error message) leaves the
  whole database as it was: every table's rows are digested before and after;
- GET forms (search box, filters) change nothing at all;
- what was stored keeps the rules (statuses, priorities, roles, tags).
Bounded: MAX_EXAMPLES per form, fixed seed (derandomize).
"""
from __future__ import annotations

import functools
import hashlib
import re
import traceback
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from app.extensions import db
from app.models.tenancy import ROLES
from app.models.tickets import PRIORITIES, STATUSES
from app.services import comments as comment_service
from app.services.validation import TAG_RE
from app.services.webhooks import transport, url_safety
from tests.conftest import login, make_ticket

MAX_EXAMPLES = 25
SETTINGS = settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                    phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time, even failing
                    suppress_health_check=list(HealthCheck))

# -- what hostile input looks like ------------------------------------------------------------------
PAYLOADS = [
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)", "<svg onload=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>", "{{ 7*7 }}", "{% include 'base.html' %}", "'; DROP TABLE tickets;--",
    "\x00", "a\x00b", "\u202eevil", "\ufeff", "\r\n\r\nSet-Cookie: x=1", "../../etc/passwd", "%00", "\\", "😀" * 3,
]
NUMBERS = ["0", "-1", "1", "2147483647", "2147483648", "-2147483649", "99999999999999999999", "1e309", "NaN", "-0",
           "1.5", " 7 ", "0x10", "\u00b2", "\u0663", "\uff11\uff12", "9" * 400]
CONTROL = st.characters(codec="utf-8", categories=("Cc", "Cf", "Zs", "Zl", "Zp"))
# Past the limits (subject 200, name 120, description 50,000); multi-byte and escaped characters stay
# shorter, as every one costs the form parser a percent-escape to decode.
HUGE = st.one_of(
    st.builds(lambda ch, n: ch * n, st.sampled_from(["a", " "]), st.sampled_from([201, 1_001, 5_001, 50_001])),
    st.builds(lambda ch, n: ch * n, st.sampled_from(["\u00e9", "\U0001f600", "<", "\x00"]),
              st.sampled_from([121, 201, 1_001, 5_001])),
)


CORNERS = ["99999999999999999999", "2147483648", "a\x00b", "\u00b2", '"><script>alert(1)</script>', ""]


def hostile_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=60),  # any unicode (surrogates aside: they cannot be sent)
        st.text(CONTROL, max_size=20),
        st.sampled_from(PAYLOADS + NUMBERS + ["", " "]),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        HUGE,
    )


def _valid_text(name: str, kind: str) -> st.SearchStrategy[str] | None:
    """Plausible values for well-known field kinds, so fuzzing also reaches the rules behind the form."""
    if kind == "email" or "email" in name:
        return st.sampled_from(["pat@example.com", "someone.new@example.org", "ADMIN@acme.test"])
    if "url" in name:
        return st.sampled_from(["https://hooks.example.com/ticketry", "http://203.0.113.7:8080/x", "ftp://x"])
    if "tag" in name:
        return st.lists(st.from_regex(r"\A[a-z0-9][a-z0-9_-]{0,8}\Z"), max_size=4).map(", ".join)
    if name == "timezone":
        return st.sampled_from(["Europe/Paris", "UTC", "America/New_York"])
    if name.startswith("day_"):
        return st.sampled_from(["09:00-17:00", "09:00-12:00, 13:00-17:00", "", "17:00-09:00", "25:00-26:00"])
    if name == "holidays":
        return st.sampled_from(["2025-12-25 Christmas", "2025-02-30 Nope", ""])
    if kind == "number":
        return st.integers(min_value=-5, max_value=600_000).map(str)
    if kind == "password" or name == "password":
        return st.sampled_from(["a-long-enough-password", "short"])
    return None


# -- forms, as a browser sees them -------------------------------------------------------------------
@dataclass
class Field:
    name: str
    kind: str  # input type, "select", "select-multiple" or "textarea"
    value: str = ""
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    method: str
    action: str
    page: str
    fields: dict[str, Field] = field(default_factory=dict)
    anonymous: bool = False

    @property
    def key(self) -> str:
        return f"{self.method} {self.action}"


class FormParser(HTMLParser):
    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Field | None = None
        self._textarea: Field | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            method = (a.get("method") or "get").upper()
            if method == "DIALOG":  # closes a <dialog> in the browser (the shortcuts help): sends nothing
                self._form = None
                return
            action = a.get("action") or a.get("hx-post") or a.get("hx-get") or self.page
            self._form = Form(method, action, self.page)
            self.forms.append(self._form)
            return
        if self._form is None or not a.get("name"):
            return
        name = a["name"]
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "reset", "image", "file"):
                return
            existing = self._form.fields.get(name)
            if existing is not None and kind in ("radio", "checkbox"):
                existing.options.append(a.get("value", "on"))
                return
            self._form.fields[name] = Field(name, kind, a.get("value", ""),
                                            [a.get("value", "on")] if kind in ("radio", "checkbox") else [])
        elif tag == "select":
            self._select = Field(name, "select-multiple" if "multiple" in a else "select")
            self._form.fields[name] = self._select
        elif tag == "textarea":
            self._textarea = Field(name, "textarea")
            self._form.fields[name] = self._textarea

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)


class OptionParser(HTMLParser):
    """<option value> of each <select name>, read in a second pass (HTMLParser has no tree)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.options: dict[str, list[str]] = {}
        self._select: str | None = None
        self._pending: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select:
            if "value" in a:
                self.options.setdefault(self._select, []).append(a["value"] or "")
            else:
                self._pending = ""

    def handle_data(self, data):
        if self._pending is not None:
            self._pending += data

    def handle_endtag(self, tag):
        if tag == "option" and self._pending is not None and self._select:
            self.options.setdefault(self._select, []).append(self._pending.strip())
            self._pending = None
        elif tag == "select":
            self._select = None


def parse_forms(html: str, page: str) -> list[Form]:
    parser = FormParser(page)
    parser.feed(html)
    options = OptionParser()
    options.feed(html)
    for form in parser.forms:
        for f in form.fields.values():
            if f.kind.startswith("select"):
                f.options = options.options.get(f.name, [])
    return parser.forms


def field_strategy(f: Field) -> st.SearchStrategy:
    valid = _valid_text(f.name, f.kind)
    choices = [st.sampled_from(f.options)] if f.options else []
    own = [st.just(f.value)] if f.value else []
    if f.kind == "select-multiple":
        item = st.one_of(*choices, hostile_text())
        return st.lists(item, max_size=4)
    options = [*choices, *own, *([valid] if valid is not None else []), hostile_text()]
    if choices or valid is not None:
        options = [*options[:-1], *options[:-1], options[-1]]  # valid values about as often as hostile ones
    return st.one_of(*options)


CANNED = {"email": "pat@example.com", "url": "https://hooks.example.com/ticketry", "tag": "hardware",
          "timezone": "UTC", "day_": "09:00-17:00", "holidays": "2025-12-25 Christmas", "number": "30",
          "password": "a-long-enough-password"}


def free_text(f: Field) -> bool:
    """A field people type anything into (no options, no particular format)."""
    return not f.options and f.kind in ("text", "textarea", "search", "hidden") and _valid_text(f.name, f.kind) is None


def valid_value(f: Field):
    """A value the form accepts for this field, as a person would fill it in."""
    if f.kind == "select-multiple":
        return [o for o in f.options if o][:1]
    if f.value:
        return f.value
    if f.options:
        return next((o for o in f.options if o), f.options[0])
    for hint, value in CANNED.items():
        if hint in f.name or hint == f.kind:
            return value
    return "Fuzzed text"


def corner_examples(form: Form) -> list[dict]:
    """The form filled in properly, then with each corner value in every free-text field (the other
    fields valid, so the value reaches the rules and the database behind the form)."""
    fields = {name: f for name, f in form.fields.items() if name != "csrf_token"}
    baseline = {name: valid_value(f) for name, f in fields.items()}
    out = [baseline]
    for corner in CORNERS:
        out.append({name: (corner if free_text(f) else baseline[name]) for name, f in fields.items()})
        out.append({name: corner for name in fields})
    unique = {repr(sorted(d.items())): d for d in out}  # a form with few fields repeats itself
    return list(unique.values())


def form_data(form: Form) -> st.SearchStrategy[dict]:
    fuzzed = {name: field_strategy(f) for name, f in form.fields.items() if name != "csrf_token"}
    return st.fixed_dictionaries({}, optional=fuzzed)


def describe(exc: BaseException) -> str:
    """The failure and, for Hypothesis' groups, each sub-failure with its last frames."""
    parts = [str(exc)[:1500]]
    for sub in getattr(exc, "exceptions", ())[:3]:
        parts.append("".join(traceback.format_exception(sub, limit=-4))[-2500:])
    return "\n".join(parts)


# -- the database, before and after --------------------------------------------------------------------
# Append-only logs and per-request bookkeeping: compared by row count (a refused form adds no row);
# every other table is compared row by row.
COUNTED_ONLY = frozenset({"audit_logs", "outbox_events", "processed_events", "job_executions", "ticket_activities",
                          "sla_events", "webhook_attempts", "email_messages", "notifications", "periodic_runs",
                          "daily_ticket_stats", "comments", "login_attempts", "user_sessions"})


@functools.lru_cache(maxsize=None)
def _digest_sql(ignore: frozenset[str], dialect: str) -> tuple[str, list[tuple[str, str]]]:
    """The COUNT query over every table, and a SELECT of the rows of each compared table (plain SQL: no
    ORM types, so a digest is cheap). On PostgreSQL the rows are hashed by the server, in the same query."""
    tables = [t for t in db.metadata.sorted_tables if t.name not in ignore]

    def order(t) -> str:
        return ", ".join(f't."{c.name}"' for c in t.primary_key.columns)

    if dialect == "postgresql":
        return " UNION ALL ".join(
            f"SELECT '{t.name}', count(*)::text FROM \"{t.name}\" t" if t.name in COUNTED_ONLY else
            f"SELECT '{t.name}', count(*) || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY {order(t)}), '')) "
            f"FROM \"{t.name}\" t" for t in tables), []
    counts = " UNION ALL ".join(f"SELECT '{t.name}', count(*) FROM \"{t.name}\"" for t in tables)
    selects = [(t.name, f'SELECT * FROM "{t.name}" t ORDER BY {order(t)}')
               for t in tables if t.name not in COUNTED_ONLY]
    return counts, selects


def digest(app, ignore: frozenset[str] = frozenset()) -> dict[str, str]:
    """Every table's row count, and a hash of the rows of every table not COUNTED_ONLY (but ``ignore``)."""
    with app.app_context():
        db.session.remove()
        counts, selects = _digest_sql(ignore, db.engine.dialect.name)
        with db.engine.connect() as conn:
            out = {name: str(n) for name, n in conn.exec_driver_sql(counts)}
            for name, sql in selects:
                rows = [tuple(row) for row in conn.exec_driver_sql(sql)]
                out[name] += ":" + hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
    return out


def changed(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


def check_stored_rules(app) -> None:
    """What was stored keeps the rules, whatever the form let through."""
    from app.models import Ticket, User
    from app.models.tickets import TicketTag

    with app.app_context():
        tickets = db.session.execute(select(Ticket.status, Ticket.priority, Ticket.subject)).all()
        roles = set(db.session.scalars(select(User.role)))
        tags = list(db.session.scalars(select(TicketTag.tag)))
        db.session.remove()
    assert {t.status for t in tickets} <= set(STATUSES)
    assert {t.priority for t in tickets} <= set(PRIORITIES)
    assert all(t.subject.strip() and len(t.subject) <= 200 for t in tickets)
    assert roles <= set(ROLES), roles
    assert all(TAG_RE.match(t) for t in tags), tags


# -- the site under test -----------------------------------------------------------------------------
SKIP_PAGES = {"audit.export"}  # CSV, and an EXPORT audit row by design
# Refused input may still leave a trace here by design: a failed sign-in is audited.
IGNORE = {"auth.login": frozenset({"audit_logs", "login_attempts"})}
HTMX = {"HX-Request": "true"}
FLASHED_ERROR = re.compile(r'class="flash flash-error" role="status"')  # a flashed message, not a page's banner


def page_blueprints(app) -> set[str]:
    from app.web import BLUEPRINTS

    return {bp.name for bp in BLUEPRINTS}


@dataclass
class Site:
    app: object
    admin: object
    anonymous: object
    ids: dict
    admin_email: str


@pytest.fixture
def site(app, acme, monkeypatch):
    """One workspace with something of everything, an admin signed in, and no network."""
    monkeypatch.setattr(url_safety, "resolve", lambda host, port: ["203.0.113.7"])
    monkeypatch.setattr(transport, "post", lambda url, body, headers, *, timeout, allowed_hosts:
                        transport.AttemptResult(error="fuzzing: no network", refused=True))
    with app.app_context():
        ticket = make_ticket(acme, subject="Printer on fire", tags=["hardware"])
        make_ticket(acme, subject="VPN down", assignee_id=acme.agent.id)
        with acme.uow(acme.agent) as uow:
            comment_service.add_comment(uow, ticket.number, body="Turn it off and on.", public=True)
            uow.commit()
        from app.services import people
        from app.services.sla import policies
        from app.services.webhooks import deliveries, endpoints

        with acme.uow(acme.admin) as uow:
            token, _ = people.create_token(uow, acme.lead.id, "fuzzing")
            uow.commit()
        with acme.uow(acme.admin) as uow:
            endpoint, _ = endpoints.create_endpoint(uow, url="https://hooks.example.com/t", events=["*"],
                                                    description="fuzzing", active=True)
            uow.commit()
        with acme.uow(acme.admin) as uow:
            delivery = deliveries.send_test_event(uow, endpoint.id)
            uow.commit()
        with acme.uow(acme.admin) as uow:
            policies.create_policy(uow, {"name": "VIP", "match_tag": "vip", "targets": policies.DEFAULT_TARGETS})
            uow.commit()
        policy = policies.list_policies(acme.uow(acme.admin))[0]
        from app.services import macros, saved_views

        with acme.uow(acme.admin) as uow:
            macro = macros.create_macro(uow, {"name": "Thanks", "body": "Hi {{requester.name}}, done.",
                                              "set_status": "solved", "add_tags": "thanked"})
            saved_views.create_view(uow, name="Urgent open", params={"status": ["open"], "priority": ["urgent"]},
                                    shared=True)
            uow.commit()
        ids = {"number": ticket.number, "user_id": acme.lead.id, "token_id": token.id, "endpoint_id": endpoint.id,
               "delivery_id": delivery.id, "policy_id": policy.id, "macro_id": macro.id}
        for name, sql in (("notification_id", "SELECT min(id) FROM notifications"),
                          ("email_id", "SELECT min(id) FROM email_messages"),
                          ("execution_id", "SELECT min(id) FROM job_executions")):
            try:
                ids[name] = db.session.scalar(text(sql)) or 1
            except Exception:
                db.session.rollback()
                ids[name] = 1
        db.session.remove()
    admin = app.test_client()
    assert login(admin, acme.admin).status_code == 302
    return Site(app, admin, app.test_client(), ids, acme.admin.email)


def discover_forms(site: Site) -> list[Form]:
    """Every form of every page the admin (and a signed-out visitor) can open."""
    app = site.app
    blueprints = page_blueprints(app)
    adapter = app.url_map.bind("localhost")
    forms: dict[str, Form] = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint.split(".")[0] not in blueprints or rule.endpoint in SKIP_PAGES:
            continue
        if any(arg not in site.ids for arg in rule.arguments):
            continue
        path = adapter.build(rule.endpoint, {arg: site.ids[arg] for arg in rule.arguments})
        for client, anonymous in ((site.admin, False), (site.anonymous, True)):
            response = client.get(path)
            if response.status_code != 200 or "html" not in (response.mimetype or ""):
                continue
            for form in parse_forms(response.get_data(as_text=True), path):
                form.anonymous = anonymous
                forms.setdefault(form.key, form)
    return sorted(forms.values(), key=lambda f: (f.method, f.action))


def endpoint_of(app, form: Form) -> str:
    adapter = app.url_map.bind("localhost")
    return adapter.match(urlsplit(form.action).path, method=form.method)[0]


def shows_error(client, response) -> bool:
    """A redirect to a page that flashes an error: the form was refused."""
    if response.status_code not in (301, 302, 303):
        return False
    target = response.headers.get("Location", "")
    if not target.startswith("/") and "localhost" not in target:
        return False
    page = client.get(urlsplit(target).path + ("?" + urlsplit(target).query if urlsplit(target).query else ""))
    return FLASHED_ERROR.search(page.get_data(as_text=True)) is not None


def fuzz_form(site: Site, form: Form) -> None:
    app = site.app
    endpoint = endpoint_of(app, form)
    ignore = IGNORE.get(endpoint, frozenset())
    # A fresh admin session per form (a form may sign out or demote); the anonymous one for /login.
    client = app.test_client()
    if not form.anonymous:
        from app.models import User

        with app.app_context():  # the workspace's own admin: fuzzing may add admins with other passwords
            admin = db.session.execute(db.select(User).where(User.email == site.admin_email)).scalars().one()
            db.session.remove()
        assert login(client, admin).status_code == 302
    path = urlsplit(form.action).path
    query = urlsplit(form.action).query

    last = {}  # the digest after the previous example: the next one's "before" (nothing else writes)

    def run(data, htmx):
        with client.session_transaction() as session:
            session.pop("_flashes", None)  # only this request's messages tell whether it was refused
        before = last.get("digest") or digest(app, ignore)
        headers = HTMX if htmx else {}
        if form.method == "GET":
            response = client.get(path, query_string=data, headers=headers)
        else:
            response = client.post(path + (f"?{query}" if query else ""), data=data, headers=headers)
        status = response.status_code
        assert status < 500, f"{form.key} answered {status} for {data!r}"
        last["digest"] = after = digest(app, ignore)
        difference = changed(before, after)
        if form.method == "GET":
            assert not difference, f"GET {path} changed {difference} for {data!r}"
        elif difference and (status >= 400 or shows_error(client, response)):
            raise AssertionError(f"{form.key} refused {data!r} ({status}) but changed {difference}")
        if difference:
            check_stored_rules(app)

    run = given(data=form_data(form), htmx=st.booleans())(run)
    for data in corner_examples(form):  # always tried, before the random ones
        run = example(data=data, htmx=False)(run)
    SETTINGS(run)()


def test_every_form_survives_hostile_input(app, site):
    forms = discover_forms(site)
    endpoints = {endpoint_of(app, f) for f in forms}
    assert {"auth.login", "tickets.new", "tickets.update_fields", "tickets.add_comment", "people.index",
            "people.set_role", "people.create_token"} <= endpoints, endpoints
    # Deletions late (the other forms still find what they change); the sign-in form last (fuzzing it
    # may throttle the address the other forms sign in from).
    forms.sort(key=lambda f: (endpoint_of(app, f) == "auth.login", "delete" in endpoint_of(app, f)))
    findings = []
    for form in forms:
        try:
            fuzz_form(site, form)
        except Exception as exc:  # every form is fuzzed; the findings are listed together
            findings.append(f"{form.key} (on {form.page}):\n{describe(exc)}")
    assert not findings, f"{len(findings)} form(s) failed:\n\n" + "\n\n".join(findings)


def test_every_post_route_of_the_pages_has_a_form(app, site):
    """The discovery above reaches every POST route of the page blueprints (or says which it missed)."""
    blueprints = page_blueprints(app)
    routes = {rule.endpoint for rule in app.url_map.iter_rules()
              if "POST" in rule.methods and rule.endpoint.split(".")[0] in blueprints}
    found = {endpoint_of(app, f) for f in discover_forms(site) if f.method == "POST"}
    # Forms shown only with data the site does not have (a failed job, a dead delivery, an unread
    # notification, a failed email) are fuzzed by test_every_action_refuses_out_of_range_ids.
    conditional = {"jobs.retry", "webhooks.retry_dead", "webhooks.retry", "notifications.mark_read",
                   "notifications.mark_all_read", "notifications.retry_email", "people.revoke_token",
                   "notifications.unfollow"}
    missing = routes - found - conditional
    assert not missing, f"POST routes no page shows a form for (fuzz them): {sorted(missing)}"


OUT_OF_RANGE = ["0", "2147483648", "99999999999999999999", "9" * 40]


def test_every_route_refuses_out_of_range_ids(app, site):
    """Ids in URLs beyond what the database holds are a 404 (or a redirect), never a crash; nothing changes."""
    blueprints = page_blueprints(app)
    failures = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in blueprints or not rule.arguments:
            continue
        for method in sorted({"GET", "POST"} & rule.methods):
            for name in sorted(rule.arguments):
                for bad in OUT_OF_RANGE:
                    values = {arg: site.ids.get(arg, 1) for arg in rule.arguments}
                    path = re.sub(r"<(?:[^:>]+:)?" + name + ">", bad, rule.rule)
                    for arg, value in values.items():
                        path = re.sub(r"<(?:[^:>]+:)?" + arg + ">", str(value), path)
                    before = digest(app)
                    try:
                        response = site.admin.open(path, method=method, data={"active": "1", "role": "agent",
                                                                             "name": "x", "body": "x"})
                        status = response.status_code
                    except Exception as exc:  # the test app propagates exceptions
                        status, response = 500, exc
                    if status >= 500 or changed(before, digest(app)):
                        failures.append(f"{method} {path}: {status} {str(response)[:300]}")
    assert not failures, "\n".join(failures)


QUERY_PARAMS = {
    "search.index": ["q", "tab", "status", "priority", "assignee", "from", "to", "visibility", "page"],
    "search.live": ["q"],
    "tickets.queue": ["status", "priority", "assignee", "tag", "q", "sort", "page"],
    "audit.index": ["entityType", "entityId", "ticketNumber", "userId", "action", "startDate", "endDate", "page",
                    "limit"],
    "sla.dashboard": ["from", "to"],
    "jobs.index": ["state", "task", "page"],
    "people.index": ["page"],
    "webhooks.deliveries_log": ["status", "event", "page"],
    "notifications.index": ["show", "page"],
    "notifications.email_log": ["status", "page"],
}


def test_query_strings_survive_hostile_input(app, site):
    """The search box, the queue's and the audit log's filters, paging: any query string, no 5xx, no change."""
    adapter = app.url_map.bind("localhost")
    known = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    findings = []
    for endpoint, params in QUERY_PARAMS.items():
        if endpoint not in known:
            continue
        rule = known[endpoint]
        path = adapter.build(endpoint, {arg: site.ids[arg] for arg in rule.arguments})
        query = st.fixed_dictionaries({}, optional={p: st.one_of(hostile_text(), st.lists(hostile_text(), max_size=3))
                                                    for p in params})

        before = digest(app)

        def run(args, htmx):
            response = site.admin.get(path, query_string=args, headers=HTMX if htmx else {})
            assert response.status_code < 500, f"{path} answered {response.status_code} for {args!r}"
            assert not changed(before, digest(app)), f"GET {path} changed the database for {args!r}"

        run = given(args=query, htmx=st.booleans())(run)
        for corner in CORNERS:
            run = example(args={p: corner for p in params}, htmx=False)(run)
        try:
            settings(SETTINGS, max_examples=15)(run)()
        except Exception as exc:
            findings.append(f"{endpoint}:\n{describe(exc)}")
    assert not findings, "\n\n".join(findings)
