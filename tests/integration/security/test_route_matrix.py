"""Every route of the URL map, pages and API, as anonymous, each role, and another workspace's admin (issue #10).

``MATRIX`` has one entry per (endpoint, method) of ``app.url_map``: who may use the route, and which of the
signed-in workspace's objects fill its URL arguments. For every entry:

- anonymous: pages send to the sign-in page (302, or 401 with ``HX-Redirect`` for htmx), the API answers a
  JSON 401 (a page session cookie is not an API credential);
- a role below the entry's: 403, whatever the body (sent empty: the role is checked before the input);
- a role that has the right: not 401/403/404 and never a 5xx (a GET is a 200; a change may be refused
  with 4xx for its empty body, but its object is found);
- globex's admin on a URL naming one of acme's objects: 404, never a 403 that says it exists;
- no answer to one workspace ever contains the other's marker strings (tests/.../route_world.py), and
  list and export routes show their own workspace's rows and never the other's.

A route without an entry fails ``test_every_route_has_an_entry``. To add one, write one line:
``("blueprint.endpoint", "METHOD"): route(ROLE, url_arg="object"),`` where ROLE is PUBLIC, SIGNED_IN,
LEAD or ADMIN and each URL argument names an object of ``route_world.Side.ids`` (ticket, comment, user,
token, webhook, delivery, policy, email, execution, macro) or of ``Side.own`` (notification, view: the
signed-in person's own); a query or body value "{kind}" names an object too. Options: ``query``,
``body`` (form fields or JSON, for a route that checks its input before looking its object up: an empty
body would never reach the tenant check), ``htmx`` (signed-in requests carry HX-Request), ``shows`` (own
rows a list must show: also runs the list test), ``destroys`` (the kind of object the request deletes:
``route_world.REPLACEMENTS`` makes a new one, or without a recipe all the data is built again),
``ends_session``, ``ok`` (the statuses of an allowed request, when not the default). Routes the matrix
cannot judge by role are ``Exempt(reason, check)`` entries with a check of their own. A new kind of
object is one more line in ``route_world._side`` (``side.ids["macro"] = ...``).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import pytest

from tests.integration.security.route_world import (
    FAILED_JOB,
    Side,
    World,
    build_world,
    offline_webhooks,
    replace_deleted,
    signed_in,
    wipe,
)

PUBLIC, SIGNED_IN, LEAD, ADMIN = "public", "agent", "lead", "admin"
RANK = {"agent": 1, "lead": 2, "admin": 3}
ACTORS = ("anonymous", "agent", "lead", "admin", "other")  # other: globex's admin, on acme's objects
IGNORED_METHODS = {"HEAD", "OPTIONS"}
HTMX = {"HX-Request": "true"}


TEMPLATE = re.compile(r"^\{(\w+)\}$")  # a query or body value naming an object: "{ticket}"


@dataclass(frozen=True)
class Route:
    who: str
    args: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    shows: tuple[str, ...] = ()
    destroys: str = ""  # the kind of object the allowed request deletes
    ends_session: bool = False
    ok: tuple[int, ...] = ()
    body: dict | None = None
    htmx: bool = False  # an htmx endpoint: signed-in requests carry HX-Request

    def objects(self) -> list[str]:
        """The kinds of object the request names: URL arguments, then "{kind}" values of query and body."""
        named = list(self.args.values())
        for value in (*self.query.values(), *(self.body or {}).values()):
            match = TEMPLATE.match(value) if isinstance(value, str) else None
            if match and match.group(1) not in named:
                named.append(match.group(1))
        return named


@dataclass(frozen=True)
class Exempt:
    reason: str
    check: Callable


def route(who, *, query=None, shows=(), destroys="", ends_session=False, ok=(), body=None, htmx=False,
          **args) -> Route:
    return Route(who, args, query or {}, (shows,) if isinstance(shows, str) else tuple(shows), destroys,
                 ends_session, tuple(ok), body, htmx)


# Bodies for changes whose input is checked before their object is looked up: an empty one would be
# refused (422, or a redirect with a message) whether or not the object exists, proving nothing.
NOTE = {"kind": "internal", "body": "route matrix note"}
TARGETS = {p: {"firstResponseMinutes": 60, "resolutionMinutes": 600} for p in ("low", "normal", "high", "urgent")}
POLICY = {"name": "Route matrix", "matchTag": "route-matrix", "targets": TARGETS}
# Lists that the matrix's own requests make longer are filtered to the rows the fixture made.
TICKETS_CREATED = {"entityType": "Ticket", "action": "CREATE"}


# -- the exemptions' own checks ----------------------------------------------------------------------
def check_static(app, world):
    client = app.test_client()
    with client.get("/static/css/app.css") as response:  # a file response: closed here, not left open
        assert response.status_code == 200
    assert client.get("/static/../app/config.py").status_code == 404
    assert client.get("/static/%2e%2e/app/config.py").status_code == 404


def check_health(app, world):
    response = app.test_client().get("/health")
    assert response.status_code in (200, 503) and response.is_json
    assert set(response.json) == {"status", "timestamp", "version", "database", "redis", "queue", "search", "mail"}
    assert_clean(response, world.acme.markers + world.globex.markers)


def check_live(app, world):
    response = app.test_client().get("/health/live")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def check_metrics(app, world):
    """Token or loopback: METRICS_TOKEN unset → loopback clients only; set → its bearer token only.
    A page session or an API token is no credential for it."""
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    anonymous = app.test_client()
    assert anonymous.get("/metrics", environ_base=outside).status_code == 403
    admin = signed_in(app, world.acme.people["admin"])
    assert admin.get("/metrics", environ_base=outside).status_code == 403
    bearer = {"Authorization": f"Bearer {world.acme.tokens['admin']}"}
    assert anonymous.get("/metrics", environ_base=outside, headers=bearer).status_code == 403
    loopback = anonymous.get("/metrics")
    assert loopback.status_code == 200
    assert_clean(loopback, world.acme.markers + world.globex.markers)
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(app.config, "METRICS_TOKEN", "matrix-scrape")
        assert anonymous.get("/metrics").status_code == 401  # the token is needed, even from loopback
        assert anonymous.get("/metrics", headers=bearer).status_code == 401
        assert admin.get("/metrics").status_code == 401
        scrape = {"Authorization": "Bearer matrix-scrape"}
        assert anonymous.get("/metrics", environ_base=outside, headers=scrape).status_code == 200


# -- the matrix: one line per (endpoint, method) of the URL map -----------------------------------------
MATRIX: dict[tuple[str, str], Route | Exempt] = {
    # not judged by role
    ("static", "GET"): Exempt("public files (CSS, JS, fonts): nothing of a workspace", check_static),
    ("health.health", "GET"): Exempt("readiness probe for the load balancer: component states only", check_health),
    ("health.live", "GET"): Exempt("liveness probe: a constant answer", check_live),
    ("metrics", "GET"): Exempt("Prometheus scrape: METRICS_TOKEN bearer, else loopback only", check_metrics),
    # signing in and out
    ("auth.home", "GET"): route(PUBLIC, ok=[302]),
    ("auth.login", "GET"): route(PUBLIC, ok=[200, 302]),
    ("auth.login", "POST"): route(PUBLIC, ok=[302, 422]),
    ("auth.logout", "POST"): route(SIGNED_IN, ends_session=True, ok=[302]),
    ("api-docs.openapi_json", "GET"): route(PUBLIC, ok=[200]),
    ("api-docs.openapi_swagger_ui", "GET"): route(PUBLIC, ok=[200]),
    # tickets (pages)
    ("tickets.queue", "GET"): route(SIGNED_IN, shows="{SLUG}-SECRET subject"),
    ("tickets.new", "GET"): route(SIGNED_IN),
    ("tickets.new", "POST"): route(SIGNED_IN),
    ("tickets.show", "GET"): route(SIGNED_IN, number="ticket"),
    ("tickets.add_comment", "POST"): route(SIGNED_IN, number="ticket", body=NOTE),
    ("tickets.update_fields", "POST"): route(SIGNED_IN, number="ticket"),
    ("notifications.follow", "POST"): route(SIGNED_IN, number="ticket"),
    ("notifications.unfollow", "POST"): route(SIGNED_IN, number="ticket"),
    ("tickets.queue_changes", "GET"): route(SIGNED_IN, query={"since": "2000-01-01T00:00:00+00:00"}),
    ("tickets.bulk_update", "POST"): route(SIGNED_IN, body={"number": "{ticket}", "set_priority": "normal"}),
    ("ticket_live.poll", "GET"): route(SIGNED_IN, number="ticket", htmx=True),
    ("ticket_live.heartbeat", "POST"): route(SIGNED_IN, number="ticket"),
    ("macros.insert", "GET"): route(SIGNED_IN, number="ticket", query={"macro": "{macro}"}, htmx=True),
    # saved views of the queue ("view": the signed-in person's own private view)
    ("saved_views.index", "GET"): route(SIGNED_IN, shows="{SLUG}-SECRET shared view"),
    ("saved_views.create", "POST"): route(SIGNED_IN),
    ("saved_views.rename", "POST"): route(SIGNED_IN, view_id="view"),
    ("saved_views.delete", "POST"): route(SIGNED_IN, view_id="view", destroys="view"),
    # macros (leads and admins manage them)
    ("macros.index", "GET"): route(LEAD, shows="{SLUG}-SECRET macro"),
    ("macros.new", "GET"): route(LEAD),
    ("macros.new", "POST"): route(LEAD),
    ("macros.edit", "GET"): route(LEAD, macro_id="macro"),
    ("macros.edit", "POST"): route(LEAD, macro_id="macro"),
    ("macros.delete", "POST"): route(LEAD, macro_id="macro", destroys="macro"),
    # search (pages)
    ("search.index", "GET"): route(SIGNED_IN, query={"q": "secret"}, shows="{SLUG}"),
    ("search.live", "GET"): route(SIGNED_IN, query={"q": "secret"}, shows="{SLUG}"),
    # notifications (pages)
    ("notifications.bell", "GET"): route(SIGNED_IN),
    ("notifications.index", "GET"): route(SIGNED_IN, shows="{SLUG}-SECRET subject for the {role}"),
    ("notifications.mark_read", "POST"): route(SIGNED_IN, notification_id="notification"),
    ("notifications.mark_all_read", "POST"): route(SIGNED_IN),
    ("notifications.preferences", "GET"): route(SIGNED_IN),
    ("notifications.preferences", "POST"): route(SIGNED_IN),
    ("notifications.email_log", "GET"): route(ADMIN, shows="{SLUG}-SECRET subject"),
    ("notifications.email", "GET"): route(ADMIN, email_id="email"),
    ("notifications.retry_email", "POST"): route(ADMIN, email_id="email"),
    # audit, SLA (pages)
    ("audit.index", "GET"): route(LEAD, query=TICKETS_CREATED, shows="{SLUG}-SECRET subject"),
    ("audit.export", "GET"): route(LEAD, shows="{SLUG}-SECRET subject"),
    ("sla.dashboard", "GET"): route(LEAD, shows="Agent {Name}"),
    ("sla.settings", "GET"): route(ADMIN, shows="{SLUG}-SECRET policy"),
    ("sla.save_calendar", "POST"): route(ADMIN),
    ("sla.new_policy", "GET"): route(ADMIN),
    ("sla.new_policy", "POST"): route(ADMIN),
    ("sla.edit_policy", "GET"): route(ADMIN, policy_id="policy"),
    ("sla.edit_policy", "POST"): route(ADMIN, policy_id="policy"),
    ("sla.delete_policy", "POST"): route(ADMIN, policy_id="policy", destroys="policy"),
    # people and their tokens, jobs (admin pages)
    ("people.index", "GET"): route(ADMIN, shows="victim@{slug}.test"),
    ("people.index", "POST"): route(ADMIN),
    ("people.show", "GET"): route(ADMIN, user_id="user"),
    ("people.set_role", "POST"): route(ADMIN, user_id="user", body={"role": "agent"}),
    ("people.set_active", "POST"): route(ADMIN, user_id="user"),
    ("people.create_token", "POST"): route(ADMIN, user_id="user"),
    ("people.revoke_token", "POST"): route(ADMIN, user_id="user", token_id="token"),
    ("jobs.index", "GET"): route(ADMIN, query={"task": FAILED_JOB}, shows="{SLUG}-SECRET-job"),
    ("jobs.retry", "POST"): route(ADMIN, execution_id="execution"),
    # webhooks (admin pages)
    ("webhooks.index", "GET"): route(ADMIN, shows="{slug}-secret-hook"),
    ("webhooks.index", "POST"): route(ADMIN),
    ("webhooks.show", "GET"): route(ADMIN, endpoint_id="webhook"),
    ("webhooks.show", "POST"): route(ADMIN, endpoint_id="webhook"),
    ("webhooks.rotate_secret", "POST"): route(ADMIN, endpoint_id="webhook"),
    ("webhooks.send_test", "POST"): route(ADMIN, endpoint_id="webhook"),
    ("webhooks.deliveries_log", "GET"): route(ADMIN, endpoint_id="webhook"),
    ("webhooks.delivery", "GET"): route(ADMIN, endpoint_id="webhook", delivery_id="delivery"),
    ("webhooks.retry", "POST"): route(ADMIN, endpoint_id="webhook", delivery_id="delivery"),
    ("webhooks.retry_dead", "POST"): route(ADMIN, endpoint_id="webhook"),
    ("webhooks.delete", "POST"): route(ADMIN, endpoint_id="webhook", destroys="webhook"),
    # API: tickets, comments, following, people
    ("api_tickets.TicketCollection", "GET"): route(SIGNED_IN, shows="{SLUG}-SECRET subject"),
    ("api_tickets.TicketCollection", "POST"): route(SIGNED_IN),
    ("api_tickets.TicketItem", "GET"): route(SIGNED_IN, number="ticket"),
    ("api_tickets.TicketItem", "PATCH"): route(SIGNED_IN, number="ticket"),
    ("api_comments.CommentCollection", "GET"): route(SIGNED_IN, number="ticket", shows="{SLUG}-SECRET comment"),
    ("api_comments.CommentCollection", "POST"): route(SIGNED_IN, number="ticket",
                                                      body={"body": "route matrix note", "public": False}),
    ("api_ticket_following.Following", "GET"): route(SIGNED_IN, number="ticket"),
    ("api_ticket_following.Following", "PUT"): route(SIGNED_IN, number="ticket"),
    ("api_ticket_following.Following", "DELETE"): route(SIGNED_IN, number="ticket"),
    ("api_users.UserCollection", "GET"): route(SIGNED_IN, shows="victim@{slug}.test"),
    # API: search, audit, notifications
    ("api_search.TicketSearch", "GET"): route(SIGNED_IN, query={"q": "secret"}, shows="{SLUG}"),
    ("api_search.CommentSearch", "GET"): route(SIGNED_IN, query={"q": "secret"}, shows="{SLUG}"),
    ("api_audit.AuditCollection", "GET"): route(LEAD, query=TICKETS_CREATED, shows="{SLUG}-SECRET subject"),
    ("api_notifications.NotificationCollection", "GET"): route(SIGNED_IN, shows="{SLUG}-SECRET subject for the {role}"),
    ("api_notifications.MarkOneRead", "POST"): route(SIGNED_IN, notification_id="notification"),
    ("api_notifications.MarkRead", "POST"): route(SIGNED_IN),
    ("api_notifications.Preferences", "GET"): route(SIGNED_IN),
    ("api_notifications.Preferences", "PUT"): route(SIGNED_IN),
    # API: SLA (leads read, admins write)
    ("api_sla.Summary", "GET"): route(LEAD, shows="Agent {Name}"),
    ("api_sla.PolicyCollection", "GET"): route(LEAD, shows="{SLUG}-SECRET policy"),
    ("api_sla.PolicyCollection", "POST"): route(ADMIN, body=POLICY),
    ("api_sla.PolicyItem", "GET"): route(LEAD, policy_id="policy"),
    ("api_sla.PolicyItem", "PATCH"): route(ADMIN, policy_id="policy"),
    ("api_sla.PolicyItem", "DELETE"): route(ADMIN, policy_id="policy", destroys="policy"),
    # API: webhooks (admins)
    ("api_webhooks.WebhookCollection", "GET"): route(ADMIN, shows="{slug}-secret-hook"),
    ("api_webhooks.WebhookCollection", "POST"): route(ADMIN),
    ("api_webhooks.WebhookItem", "GET"): route(ADMIN, webhook_id="webhook"),
    ("api_webhooks.WebhookItem", "PATCH"): route(ADMIN, webhook_id="webhook"),
    ("api_webhooks.WebhookSecret", "POST"): route(ADMIN, webhook_id="webhook"),
    ("api_webhooks.WebhookTest", "POST"): route(ADMIN, webhook_id="webhook"),
    ("api_webhooks.DeliveryCollection", "GET"): route(ADMIN, webhook_id="webhook"),
    ("api_webhooks.DeliveryItem", "GET"): route(ADMIN, webhook_id="webhook", delivery_id="delivery"),
    ("api_webhooks.DeliveryRetry", "POST"): route(ADMIN, webhook_id="webhook", delivery_id="delivery"),
    ("api_webhooks.WebhookItem", "DELETE"): route(ADMIN, webhook_id="webhook", destroys="webhook"),
}


def url_map_entries(app) -> set[tuple[str, str]]:
    return {(rule.endpoint, method) for rule in app.url_map.iter_rules() for method in rule.methods - IGNORED_METHODS}


# -- the data: built once per module; a deleted object is replaced, a failed test rebuilds everything ----
class Keeper:
    def __init__(self, app):
        self.app = app
        self.world: World | None = None
        self.dirty = True

    def get(self) -> World:
        if self.dirty:
            self.world = build_world(self.app)
            self.dirty = False
        return self.world

    def deleted(self, kind: str) -> None:
        """An acme object was deleted: a new one replaces it, or everything is built again."""
        if not replace_deleted(self.app, self.world.acme, kind):
            self.dirty = True


@pytest.fixture(scope="module")
def keeper(app):
    with pytest.MonkeyPatch.context() as mp:
        offline_webhooks(mp)
        yield Keeper(app)
        wipe(app)  # the next module starts from empty tables, as after any test


@pytest.fixture(autouse=True)
def _empty_tables():
    """Replaces tests/conftest.py's: this module keeps its data between tests (``keeper`` empties the tables)."""
    yield


# -- requests and checks -------------------------------------------------------------------------------
def is_api(endpoint: str, app) -> bool:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    return rule.rule.startswith("/api/")


def object_id(side: Side, kind: str, owner: str) -> int:
    """One of the workspace's objects; a per-person kind (notification, view) is ``owner``'s own."""
    return side.own[kind][owner] if kind in side.own else side.ids[kind]


def fill(app, key, pick: Callable[[str], int], empty: bool = False) -> tuple[str, dict]:
    """The entry's path (with its query) and body, each object named by ``pick(kind)``."""
    endpoint, method = key
    entry = MATRIX[key]

    def value(v):
        match = TEMPLATE.match(v) if isinstance(v, str) else None
        return pick(match.group(1)) if match else v

    path = app.url_map.bind("localhost").build(endpoint, {name: pick(kind) for name, kind in entry.args.items()},
                                               method=method)
    if entry.query:
        path += "?" + urlencode({k: value(v) for k, v in entry.query.items()})
    body = {} if empty or entry.body is None else {k: value(v) for k, v in entry.body.items()}
    if method in ("POST", "PUT", "PATCH"):
        return path, {"json": body} if is_api(endpoint, app) else {"data": body}
    return path, {}


def send(app, world: World, key, actor: str, *, side: Side | None = None, owner: str | None = None,
         pick=None, headers=None, client=None, empty=False):
    """The entry's request as ``actor`` (anonymous, an acme role, or "other": globex's admin) on objects of
    ``side`` (acme's by default; per-person ones ``owner``'s, acme's agent's for anonymous and other).
    ``empty``: without the entry's body (a role is checked before the input)."""
    endpoint, _ = key
    entry = MATRIX[key]
    side = side or world.acme
    owner = owner or (actor if actor in RANK else "agent")
    path, body = fill(app, key, pick or (lambda kind: object_id(side, kind, owner)), empty)
    headers = {**(HTMX if entry.htmx and actor != "anonymous" else {}), **(headers or {})}
    if is_api(endpoint, app):
        token = world.globex.tokens["admin"] if actor == "other" else world.acme.tokens.get(actor)
        headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **headers}
        client = client or app.test_client()
    elif client is None:
        if actor == "anonymous":
            client = app.test_client()
        elif entry.ends_session:
            client = signed_in(app, world.globex.people["admin"] if actor == "other" else world.acme.people[actor])
        else:
            client = world.clients[actor]
    return client.open(path, method=key[1], headers=headers, **body)


def text(response) -> str:
    return response.get_data(as_text=True)


def assert_clean(response, markers) -> None:
    body = text(response) + " ".join(f"{k}: {v}" for k, v in response.headers.items())
    leaked = [m for m in markers if m in body]
    assert not leaked, f"{response.status_code}: the answer shows {leaked} of another workspace"


def location_path(response) -> str:
    return urlsplit(response.headers.get("Location", "")).path


def expectation(key, actor: str) -> str:
    entry = MATRIX[key]
    if entry.who == PUBLIC:
        return "allowed"
    if actor == "anonymous":
        return "sign in"
    if actor == "other":
        return "not found" if entry.objects() else "allowed"
    return "allowed" if RANK[actor] >= RANK[entry.who] else "forbidden"


def check_signed_out(app, world, key, api: bool):
    response = send(app, world, key, "anonymous")
    if api:
        assert response.status_code == 401, text(response)[:300]
        assert response.is_json and response.json["code"] == 401
        assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")
        # A signed-in page session is no API credential.
        cookie = send(app, world, key, "anonymous", client=world.clients["admin"])
        assert cookie.status_code == 401, text(cookie)[:300]
        return
    assert response.status_code == 302, text(response)[:300]
    assert location_path(response) == "/login" and "next=" in response.headers["Location"]
    htmx = send(app, world, key, "anonymous", headers=HTMX)
    assert htmx.status_code == 401
    assert urlsplit(htmx.headers.get("HX-Redirect", "")).path == "/login"


def check_allowed(response, key, api: bool):
    entry = MATRIX[key]
    status, method = response.status_code, key[1]
    assert status < 500, text(response)[:2000]
    if entry.ok:
        assert status in entry.ok, f"{status}: {text(response)[:500]}"
        return
    if method == "GET":
        assert status == 200, f"{status}: {text(response)[:500]}"
        return
    assert status not in (401, 403, 404), f"{status}: {text(response)[:500]}"
    if 300 <= status < 400:
        assert location_path(response) != "/login", "an allowed request was sent to sign in"
    if api and status >= 400:
        assert response.is_json


def check_forbidden(response, api: bool):
    assert response.status_code == 403, f"{response.status_code}: {text(response)[:500]}"
    if api:
        assert response.is_json and response.json["code"] == 403
    else:
        assert response.mimetype == "text/html"


def check_not_found(response, api: bool):
    assert response.status_code == 404, f"{response.status_code}: {text(response)[:500]}"
    if api:
        assert response.is_json and response.json["code"] == 404


ROUTES = [key for key, entry in MATRIX.items() if isinstance(entry, Route)]
CASES = [pytest.param(key, actor, id=f"{key[0]}:{key[1]}:{actor}")
         for key in ROUTES
         for actor in ACTORS]


def test_every_route_has_an_entry(app):
    routes, entries = url_map_entries(app), set(MATRIX)
    missing = sorted(routes - entries)
    stale = sorted(entries - routes)
    assert not missing, ("routes without an entry in MATRIX (tests/integration/security/test_route_matrix.py): "
                         + ", ".join(f"{e} {m}" for e, m in missing))
    assert not stale, "MATRIX entries for routes that no longer exist: " + ", ".join(f"{e} {m}" for e, m in stale)


@pytest.mark.parametrize(("key", "actor"), CASES)
def test_route(app, keeper, key, actor):
    world = keeper.get()
    entry = MATRIX[key]
    api = is_api(key[0], app)
    expected = expectation(key, actor)
    done = False
    try:
        if expected == "sign in":
            check_signed_out(app, world, key, api)
        else:
            response = send(app, world, key, actor, empty=expected == "forbidden")
            if expected == "forbidden":
                check_forbidden(response, api)
            elif expected == "not found":
                check_not_found(response, api)
                if not api:  # the htmx branch of a view finds objects the same way
                    htmx = send(app, world, key, actor, headers=HTMX)
                    check_not_found(htmx, api)
                    assert_clean(htmx, world.acme.markers)
            else:
                check_allowed(response, key, api)
            assert_clean(response, world.acme.markers if actor == "other" else world.globex.markers)
        done = True
    finally:
        # A failure may have changed anything: the next test starts from new data.
        if not done:
            keeper.dirty = True
        elif entry.destroys and expected == "allowed":
            keeper.deleted(entry.destroys)


LISTS = [pytest.param(key, actor, id=f"{key[0]}:{key[1]}:{actor}")
         for key in ROUTES if MATRIX[key].shows
         for actor in ("agent", "lead", "admin", "other") if expectation(key, actor) == "allowed"]


@pytest.mark.parametrize(("key", "actor"), LISTS)
def test_list_shows_own_rows_and_never_the_other_workspaces(app, keeper, key, actor):
    """Acme's people see acme's rows (so the list is not just empty) and none of globex's; and the other
    way round for globex's admin, on the list of its own workspace."""
    world = keeper.get()
    own, foreign = (world.globex, world.acme) if actor == "other" else (world.acme, world.globex)
    entry = MATRIX[key]
    # A list under one of the workspace's objects (a ticket's comments) is asked for with its own object.
    response = send(app, world, key, actor, side=own, owner="admin" if actor == "other" else actor)
    assert response.status_code == 200, text(response)[:500]
    role = "admin" if actor == "other" else actor
    slug, name = own.slug, own.name
    for shown in entry.shows:
        expected = shown.format(slug=slug, SLUG=slug.upper(), Name=name, role=role)
        assert expected in text(response), f"{expected!r} is not in the list: the check would prove nothing"
    assert_clean(response, foreign.markers)


EXEMPT = sorted(key for key, entry in MATRIX.items() if isinstance(entry, Exempt))


@pytest.mark.parametrize("key", EXEMPT, ids=[f"{e}:{m}" for e, m in EXEMPT])
def test_exempt_route(app, keeper, key):
    MATRIX[key].check(app, keeper.get())


PERSONAL = [key for key in ROUTES if any(kind in ("notification", "view") for kind in MATRIX[key].objects())]


@pytest.mark.parametrize("key", PERSONAL, ids=lambda key: f"{key[0]}:{key[1]}")
def test_another_persons_own_object_is_not_found(app, keeper, key):
    """Notifications and private saved views belong to a person: acme's admin cannot use acme's agent's."""
    world = keeper.get()
    response = send(app, world, key, "admin", owner="agent")
    check_not_found(response, is_api(key[0], app))


MIXED = [pytest.param(key, kind, id=f"{key[0]}:{key[1]}:{kind}")
         for key in ROUTES if len(MATRIX[key].objects()) > 1 for kind in MATRIX[key].objects()]


@pytest.mark.parametrize(("key", "foreign"), MIXED)
def test_own_object_with_another_workspaces_object_is_not_found(app, keeper, key, foreign):
    """A request naming two objects (a webhook and a delivery, a person and a token, a ticket and a macro),
    only one of them acme's: globex's admin gets a 404 although the other one is its own."""
    world = keeper.get()
    side_of = {foreign: world.acme}
    response = send(app, world, key, "other",
                    pick=lambda kind: object_id(side_of.get(kind, world.globex), kind, "admin"))
    check_not_found(response, is_api(key[0], app))
    assert_clean(response, world.acme.markers)


# Filters naming another workspace's person or object: an empty result, never its rows.
FOREIGN_FILTERS = (
    "/tickets?assignee={person}",
    "/search?q=secret&assignee={person}",
    "/audit?userId={person}",
    "/audit?entityType=User&entityId={person}",
    "/audit/export.csv?userId={person}",
    "/api/v1/tickets?assignee={person}",
    "/api/v1/search/tickets?q=secret&assignee={person}",
    "/api/v1/search/comments?q=secret&assignee={person}",
    "/api/v1/audit?userId={person}",
    "/api/v1/audit?entityType=WebhookEndpoint&entityId={webhook}",
)


@pytest.mark.parametrize("template", FOREIGN_FILTERS)
def test_filters_naming_another_workspaces_objects_show_none_of_its_rows(app, keeper, template):
    world = keeper.get()
    path = template.format(person=world.globex.people["agent"].id, webhook=world.globex.ids["webhook"])
    if path.startswith("/api/"):
        response = app.test_client().get(path, headers={"Authorization": f"Bearer {world.acme.tokens['admin']}"})
    else:
        response = world.clients["admin"].get(path)
    assert response.status_code in (200, 422), text(response)[:500]
    assert_clean(response, world.globex.markers)
