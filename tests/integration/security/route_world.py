"""The data of the route-matrix test: two workspaces with one of every object, built through the services.

Each workspace (acme, globex) gets its admin, lead and agent, a spare person to act on ("victim"), tickets
assigned to each role (so each person has a notification and an email), a ticket with a comment, a webhook
endpoint with deliveries, an extra SLA policy, a macro, a shared saved view and a private one per person, a
failed job and API tokens. Everything a workspace owns
carries its marker (``ACME-SECRET``, ``GLOBEX-SECRET``, ``@acme.test``...): a page or API answer given to one
workspace must never contain the other's markers.

Webhooks never touch the network here: the URL check resolves every host to a documentation address
and every delivery attempt is refused, as in the form-fuzz test.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import select

from app.extensions import db
from app.models import EmailMessage, JobExecution, Notification, Tenant, User
from app.queue import huey
from app.services import comments, people, saved_views
from app.services import jobs as job_records
from app.services import macros as macro_service
from app.services.sla import policies
from app.services.webhooks import deliveries, endpoints, transport, url_safety
from tests.conftest import PASSWORD, Workspace, login, make_ticket, make_workspace

ROLES = ("agent", "lead", "admin")
FAILED_JOB = "sla.process_escalation_events"


def markers(slug: str, name: str) -> tuple[str, ...]:
    """Strings only this workspace's data contains."""
    return (f"{slug.upper()}-SECRET", f"@{slug}.test", f"{slug}-secret-hook", name)


@dataclass(frozen=True)
class Person:
    """Who signs in: plain values, usable outside any app context."""

    id: int
    email: str


@dataclass
class Side:
    """One workspace, its objects (by the name the matrix uses) and its people's credentials."""

    slug: str
    name: str
    tenant_id: int
    markers: tuple[str, ...]
    people: dict[str, Person] = field(default_factory=dict)  # role (and "victim") → who
    ids: dict[str, int] = field(default_factory=dict)
    own: dict[str, dict[str, int]] = field(default_factory=dict)  # per-person kind → role → that person's one
    tokens: dict[str, str] = field(default_factory=dict)  # role → an API token of that person
    views_made: int = 0


@dataclass
class World:
    acme: Side
    globex: Side
    clients: dict = field(default_factory=dict)  # actor → a signed-in page client (acme roles, globex admin)


def _as(ws: Workspace, user: User, change):
    with ws.uow(user) as uow:
        result = change(uow)
        uow.commit()
    return result


def _failed_job(tenant_id: int, marker: str) -> int:
    """A failed job execution of the workspace: a real task (Retry runs it inline) that nothing else runs here."""
    job_id = secrets.token_hex(8)
    job_records.start_attempt(job_id, FAILED_JOB, ([f"{marker}-job"], tenant_id), {}, 1, 1, 60)
    job_records.set_tenant(job_id, tenant_id)
    job_records.finish_attempt(job_id, duration_ms=3, error=job_records.PermanentJobError("boom"), retry_at=None)
    return db.session.scalar(select(JobExecution.id).where(JobExecution.job_id == job_id))


def _add_webhook(ws: Workspace, side: Side) -> None:
    endpoint, _ = _as(ws, ws.admin, lambda uow: endpoints.create_endpoint(
        uow, url=f"https://hooks.example.com/{side.slug}-secret-hook", events=["*"],
        description=f"{side.slug.upper()}-SECRET hook"))
    side.ids["webhook"] = endpoint.id


def _add_delivery(ws: Workspace, side: Side) -> None:
    side.ids["delivery"] = _as(ws, ws.admin, lambda uow: deliveries.send_test_event(uow, side.ids["webhook"])).id


def _add_policy(ws: Workspace, side: Side) -> None:
    side.ids["policy"] = _as(ws, ws.admin, lambda uow: policies.create_policy(uow, {
        "name": f"{side.slug.upper()}-SECRET policy", "match_tag": "vip", "targets": policies.DEFAULT_TARGETS})).id


def _add_macro(ws: Workspace, side: Side) -> None:
    side.ids["macro"] = _as(ws, ws.lead, lambda uow: macro_service.create_macro(uow, {
        "name": f"{side.slug.upper()}-SECRET macro", "body": "Hello {{requester.name}}, it is fixed."})).id


def _add_private_views(ws: Workspace, side: Side) -> None:
    """A private saved view of each person (a new name each time: names are unique per person)."""
    side.views_made += 1
    side.own["view"] = {role: _as(ws, getattr(ws, role), lambda uow: saved_views.create_view(
        uow, name=f"{side.slug.upper()}-SECRET view {side.views_made}", params={"status": ["open"]})).id
        for role in ROLES}


# How to make again an object that a test deleted (the side's ids are updated).
REPLACEMENTS = {
    "webhook": lambda ws, side: (_add_webhook(ws, side), _add_delivery(ws, side)),
    "policy": _add_policy,
    "macro": _add_macro,
    "view": _add_private_views,
}


def replace_deleted(app, side: Side, kind: str) -> bool:
    """A new object of ``kind`` in place of the deleted one; False when there is no recipe for it."""
    if kind not in REPLACEMENTS:
        return False
    with app.app_context():
        tenant = db.session.get(Tenant, side.tenant_id)
        users = {role: db.session.get(User, side.people[role].id) for role in ROLES}
        REPLACEMENTS[kind](Workspace(tenant=tenant, **users), side)
        db.session.remove()
    return True


def _side(slug: str, name: str, extra_tickets: int) -> Side:
    ws = make_workspace(slug, name)
    mark = f"{slug.upper()}-SECRET"
    victim = _as(ws, ws.admin, lambda uow: people.create_user(
        uow, email=f"victim@{slug}.test", name=f"Victim {name}", role="agent", password=PASSWORD))
    side = Side(slug=slug, name=name, tenant_id=ws.tenant.id, markers=markers(slug, name))
    _add_webhook(ws, side)
    _add_policy(ws, side)
    _add_macro(ws, side)
    _add_private_views(ws, side)
    _as(ws, ws.lead, lambda uow: saved_views.create_view(uow, name=f"{mark} shared view", params={}, shared=True))
    # Someone else assigns each person a ticket: one notification (and one email) for each of them.
    for role, by in (("agent", ws.lead), ("lead", ws.agent), ("admin", ws.agent)):
        make_ticket(ws, by, subject=f"{mark} subject for the {role}", assignee_id=getattr(ws, role).id,
                    requester_email=f"requester@{slug}.test")
    # The agent answers their ticket: a first response met, so the SLA numbers have a row per agent.
    first = db.session.scalar(select(Notification.ticket_number).where(Notification.user_id == ws.agent.id))
    _as(ws, ws.agent, lambda uow: comments.add_comment(uow, first, body=f"{mark} reply", public=True))
    for i in range(extra_tickets):
        make_ticket(ws, subject=f"{mark} subject {i}", requester_email=f"requester@{slug}.test")
    ticket = make_ticket(ws, subject=f"{mark} subject of the main ticket", requester_email=f"requester@{slug}.test",
                         tags="vip")
    side.ids["ticket"] = ticket.number
    side.ids["comment"] = _as(ws, ws.agent, lambda uow: comments.add_comment(
        uow, ticket.number, body=f"{mark} comment", public=False)).id
    _add_delivery(ws, side)
    side.ids["user"] = victim.id
    side.ids["token"] = _as(ws, ws.admin, lambda uow: people.create_token(uow, victim.id, f"{mark} token"))[0].id
    with ws.uow(ws.admin) as uow:
        side.tokens = {role: people.create_token(uow, getattr(ws, role).id, f"matrix {role}")[1] for role in ROLES}
        uow.commit()
    side.ids["execution"] = _failed_job(ws.tenant.id, mark)
    side.ids["email"] = db.session.scalar(select(EmailMessage.id).where(EmailMessage.tenant_id == ws.tenant.id)
                                          .order_by(EmailMessage.id))
    side.own["notification"] = {role: db.session.scalar(
        select(Notification.id).where(Notification.user_id == getattr(ws, role).id).order_by(Notification.id))
        for role in ROLES}
    for role in (*ROLES, "victim"):
        user = victim if role == "victim" else getattr(ws, role)
        side.people[role] = Person(user.id, user.email)
    missing = [k for k, v in {**side.ids, **side.own["notification"]}.items() if v is None]
    assert not missing, f"{slug}: the fixture made no {missing}"
    return side


def offline_webhooks(monkeypatch) -> None:
    """Webhook URLs resolve to a public documentation address; every delivery attempt is refused."""
    monkeypatch.setattr(url_safety, "resolve", lambda host, port: ["203.0.113.7"])
    monkeypatch.setattr(transport, "post", lambda url, body, headers, *, timeout, allowed_hosts:
                        transport.AttemptResult(error="route matrix: no network", refused=True))


def wipe(app) -> None:
    """Empty every table, as tests/conftest.py does after each test."""
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
    huey.flush()


def build_world(app) -> World:
    wipe(app)
    with app.app_context():
        # acme has more tickets than globex: acme's main ticket number is one globex does not have.
        acme = _side("acme", "Acme", extra_tickets=2)
        globex = _side("globex", "Globex", extra_tickets=0)
        assert acme.ids["ticket"] > globex.ids["ticket"]
        db.session.remove()
    world = World(acme=acme, globex=globex)
    for actor, person in (*((role, acme.people[role]) for role in ROLES), ("other", globex.people["admin"])):
        world.clients[actor] = signed_in(app, person)
    return world


def signed_in(app, person: Person):
    client = app.test_client()
    response = login(client, person)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client
