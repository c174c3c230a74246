"""The demo workspaces, built through the services so audit rows, activities, SLA clocks and events are real.

Idempotent: a workspace, a person or a ticket story that already exists is left
alone (a story is known by its subject and requester), so a second run adds
nothing and changes nothing. Existing people keep their passwords.

Each story is a ticket's life: it is created by the requester (the system actor
"demo"), then agents assign, reply, write internal notes and move the status,
each step in its own unit of work as that agent, and requesters answer as the
system actor (a comment without an author).

Time. To look like a few weeks of work, every step runs at its own moment in the
past: the seed travels there with time-machine (the services, the SLA clocks,
the audit chain and the outbox all read that clock), and plays the steps of all
stories in time order, so ticket numbers and the audit chain follow time. No row
is edited afterwards. Without time-machine installed (it comes with the [test]
extra that ``make`` installs) everything is stamped now, and the seed says so.
"""
from __future__ import annotations

import random
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.cli.seed_data import (
    AGE_DAYS, CHASERS, DEMO_PASSWORD, ESCALATION_NOTES, SCENARIOS, STATUS_MIX, THANKS, WORKSPACES, Scenario,
    Workspace,
)
from app.extensions import db
from app.models import Tenant, Ticket, User
from app.models.base import utcnow
from app.repositories.unit_of_work import Actor, UnitOfWork
from app.services.comments import add_comment
from app.services.macros import create_macro, list_macros
from app.services.people import create_user
from app.services.tenants import create_tenant, find_tenant
from app.services.tickets import create_ticket, update_ticket

SYSTEM = Actor.system("demo")


@dataclass
class Step:
    kind: str  # assign, reply, note, customer, status, priority, tags
    who: str | None  # key of the person acting; None: the requester
    value: object = None
    after: timedelta = timedelta(0)  # since the previous step


@dataclass
class Story:
    scenario: Scenario
    requester: tuple[str, str]
    priority: str
    created_at: datetime
    steps: list[Step]
    number: int | None = None  # once created


@dataclass
class SeedReport:
    slug: str
    tenant_created: bool
    people_added: int
    tickets_added: int

    def line(self) -> str:
        if not (self.tenant_created or self.people_added or self.tickets_added):
            return f"{self.slug}: already seeded, nothing to add."
        made = "created" if self.tenant_created else "exists"
        return f"{self.slug}: workspace {made}, {self.people_added} people and {self.tickets_added} tickets added."


def seed_workspaces() -> list[SeedReport]:
    now = utcnow()
    return [_seed_workspace(ws, now) for ws in WORKSPACES]


def travels_in_time() -> bool:
    """Whether the seed can stamp the past (time-machine installed)."""
    try:
        import time_machine  # noqa: F401
    except ImportError:
        return False
    return True


def demo_logins() -> list[tuple[str, str, str, str]]:
    """(workspace, email, password, role) of every demo account."""
    return [(ws.slug, p.email, DEMO_PASSWORD, p.role) for ws in WORKSPACES for p in ws.people]


def _seed_workspace(ws: Workspace, now: datetime) -> SeedReport:
    stories = _plan_stories(ws, now)
    opened = min(s.created_at for s in stories) - timedelta(days=3)  # the workspace predates its tickets
    tenant = find_tenant(ws.slug)
    created = tenant is None
    if created:
        with _at(opened):
            tenant = create_tenant(ws.name, ws.slug, ws.timezone)
    with _at(opened + timedelta(minutes=20)):
        staff, added_people = _ensure_people(tenant, ws)
        _ensure_macros(tenant, staff, ws)
    existing = _existing_stories(tenant, stories)
    todo = [s for s in stories if (s.scenario.subject, s.requester[1]) not in existing]
    _play(tenant, ws, staff, todo)
    db.session.remove()
    return SeedReport(ws.slug, created, added_people, len(todo))


def _ensure_people(tenant: Tenant, ws: Workspace) -> tuple[dict[str, User], int]:
    staff: dict[str, User] = {}
    added = 0
    with UnitOfWork(tenant, SYSTEM) as uow:
        for person in ws.people:
            user = uow.users.by_email(person.email)
            if user is None:
                user = create_user(uow, email=person.email, name=person.name, role=person.role,
                                   password=DEMO_PASSWORD)
                added += 1
            staff[person.key] = user
        if added:
            uow.commit()
    return staff, added


# Canned replies every demo workspace starts with: (name, body, status it sets, tags it adds).
DEMO_MACROS = (
    ("Thanks, looking into it",
     "Hi {{requester.name}},\n\nThanks for reporting this. I'm looking into ticket #{{ticket.number}} now and "
     "will get back to you today.\n\n{{agent.name}}", "open", ""),
    ("Need more details",
     "Hi {{requester.name}},\n\nCould you send a screenshot and the steps that lead to the problem? "
     "That helps us reproduce it.\n\n{{agent.name}}", "pending", "needs-info"),
    ("Fixed, please confirm",
     "Hi {{requester.name}},\n\nA fix is live. Could you check on your side? If all is well there's nothing "
     "more to do: the ticket closes itself.\n\n{{agent.name}}", "solved", ""),
)


def _ensure_macros(tenant: Tenant, staff: dict[str, User], ws: Workspace) -> None:
    """The demo canned replies, made by the workspace's first lead or admin (missing ones only)."""
    author = next((staff[p.key] for p in ws.people if p.role in ("lead", "admin")), None)
    if author is None:
        return
    with UnitOfWork(tenant, _as_user(author)) as uow:
        have = {m.name for m in list_macros(uow)}
        for name, body, status, tags in DEMO_MACROS:
            if name not in have:
                create_macro(uow, {"name": name, "body": body, "set_status": status, "add_tags": tags})
        uow.commit()


def _existing_stories(tenant: Tenant, stories: list[Story]) -> set[tuple[str, str]]:
    subjects = [s.scenario.subject for s in stories]
    rows = db.session.execute(
        select(Ticket.subject, Ticket.requester_email)
        .where(Ticket.tenant_id == tenant.id, Ticket.subject.in_(subjects))
    )
    return {(subject, email) for subject, email in rows}


# -- planning: who does what, when -----------------------------------------------------
def _plan_stories(ws: Workspace, now: datetime) -> list[Story]:
    """The same plan on every run (seeded by the workspace), with times relative to now."""
    rng = random.Random(f"ticketry-demo-{ws.slug}")
    statuses = [status for status, n in STATUS_MIX.items() for _ in range(n)]
    rng.shuffle(statuses)
    customers = list(ws.customers)
    agents = [p.key for p in ws.people if p.role == "agent"]
    lead = next((p.key for p in ws.people if p.role == "lead"), "admin")
    zone = ZoneInfo(ws.timezone)
    stories = []
    for index, (scenario, status) in enumerate(zip(SCENARIOS, statuses)):
        steps = _steps(rng, scenario, status, agents, lead)
        created_at = _business_time(rng, now, zone, *AGE_DAYS[status])
        story = Story(scenario, customers[index % len(customers)], scenario.priority, created_at, steps)
        _fit_before(story, now - timedelta(minutes=5))
        stories.append(story)
    return stories


def _steps(rng: random.Random, sc: Scenario, status: str, agents: list[str], lead: str) -> list[Step]:
    minutes = lambda a, b: timedelta(minutes=rng.randint(a, b))  # noqa: E731
    agent = rng.choice(agents)
    steps: list[Step] = []
    if status == "new":
        if rng.random() < 0.3:
            steps.append(Step("assign", lead, agent, minutes(5, 90)))
        if rng.random() < 0.4:
            steps.append(Step("customer", None, rng.choice(CHASERS), minutes(60, 600)))
        return steps
    steps.append(Step("assign", rng.choice([lead, agent]), agent, minutes(5, 120)))
    if sc.priority in ("normal", "high") and rng.random() < 0.25:
        bumped = "high" if sc.priority == "normal" else "urgent"
        steps.append(Step("priority", lead, bumped, minutes(2, 30)))
        steps.append(Step("note", lead, rng.choice(ESCALATION_NOTES), minutes(1, 5)))
    steps.append(Step("reply", agent, sc.reply, minutes(10, 240)))
    if status == "open":
        if rng.random() < 0.6:
            steps.append(Step("customer", None, sc.customer, minutes(60, 1200)))
        if rng.random() < 0.5:
            steps.append(Step("note", agent, sc.note, minutes(10, 180)))
    elif status == "pending":
        steps.append(Step("status", agent, "pending", minutes(1, 10)))
    elif status == "on_hold":
        steps.append(Step("note", agent, sc.note, minutes(10, 180)))
        steps.append(Step("tags", agent, "escalated", minutes(1, 5)))
        steps.append(Step("status", agent, "on_hold", minutes(1, 5)))
    else:  # solved, closed
        steps.append(Step("customer", None, sc.customer, minutes(60, 1200)))
        steps.append(Step("note", agent, sc.note, minutes(10, 240)))
        steps.append(Step("reply", agent, sc.resolution, minutes(30, 1440)))
        steps.append(Step("status", agent, "solved", minutes(1, 10)))
        if rng.random() < 0.5:
            steps.append(Step("customer", None, rng.choice(THANKS), minutes(60, 1200)))
            # a public reply reopens a solved ticket; the agent solves it again
            steps.append(Step("status", agent, "solved", minutes(10, 240)))
        if status == "closed":
            steps.append(Step("status", agent, "closed", timedelta(days=rng.randint(3, 5))))
    return steps


def _business_time(rng: random.Random, now: datetime, zone: ZoneInfo, min_days: int, max_days: int) -> datetime:
    """A moment ``min_days``-``max_days`` ago, on a working day between 08:00 and 18:00 local time."""
    day = (now.astimezone(zone) - timedelta(days=rng.randint(min_days, max_days))).date()
    while day.weekday() >= 5 and rng.random() < 0.85:  # few tickets at weekends
        day -= timedelta(days=1)
    local = datetime(day.year, day.month, day.day, rng.randint(8, 17), rng.randint(0, 59), rng.randint(0, 59),
                     tzinfo=zone)
    moment = local.astimezone(now.tzinfo)
    if moment > now - timedelta(minutes=30):
        moment = now - timedelta(minutes=rng.randint(30, 300))
    return moment


def _fit_before(story: Story, limit: datetime) -> None:
    """Squeeze the steps' gaps so the last one happens before ``limit``."""
    total = sum((s.after for s in story.steps), timedelta(0))
    room = limit - story.created_at
    if total > room:
        factor = max(room, timedelta(0)) / total
        for step in story.steps:
            step.after = step.after * factor


# -- playing the stories through the services, in time order ---------------------------------
def _play(tenant: Tenant, ws: Workspace, staff: dict[str, User], stories: list[Story]) -> None:
    moments: list[tuple[datetime, int, int]] = []  # (when, story, step; -1 creates the ticket)
    for index, story in enumerate(stories):
        at = story.created_at
        moments.append((at, index, -1))
        for position, step in enumerate(story.steps):
            at = at + step.after
            moments.append((at, index, position))
    clock = None  # where the previous step left the clock: time never runs backwards
    for at, index, position in sorted(moments):
        story = stories[index]
        with _at(max(at, clock) if clock else at):
            if position < 0:
                _create(tenant, ws, story)
            else:
                step = story.steps[position]
                actor = SYSTEM if step.who is None else _as_user(staff[step.who])
                with UnitOfWork(tenant, actor) as uow:
                    _apply(uow, story.number, step, staff, ws)
                    uow.commit()
            clock = utcnow() + timedelta(milliseconds=1)


def _create(tenant: Tenant, ws: Workspace, story: Story) -> None:
    sc = story.scenario
    with UnitOfWork(tenant, SYSTEM) as uow:
        ticket = create_ticket(
            uow,
            subject=sc.subject,
            description=_fill(sc.description, ws),
            requester_name=story.requester[0],
            requester_email=story.requester[1],
            priority=story.priority,
            tags=sc.tags,
        )
        uow.commit()
    story.number = ticket.number


def _apply(uow: UnitOfWork, number: int, step: Step, staff: dict[str, User], ws: Workspace) -> None:
    if step.kind in ("reply", "customer", "note"):
        add_comment(uow, number, body=_fill(step.value, ws), public=step.kind != "note")
    elif step.kind == "assign":
        update_ticket(uow, number, {"assignee_id": staff[step.value].id})
    elif step.kind == "tags":
        current = uow.tickets.get(number).tags
        update_ticket(uow, number, {"tags": [*current, step.value]})
    else:  # status, priority
        update_ticket(uow, number, {step.kind: step.value})


def _at(moment: datetime):
    """Run the block with the clock at ``moment`` (ticking on from there), when time-machine is installed."""
    if not travels_in_time():
        return nullcontext()
    import time_machine

    return time_machine.travel(moment, tick=True)


def _as_user(user: User) -> Actor:
    return Actor(type="user", id=user.id, label=user.email, user=user)


def _fill(text: str, ws: Workspace) -> str:
    return text.replace("{product}", ws.product).replace("{company}", ws.name)
