"""flask demo seed --tickets N: generated tickets in bulk, for load and pagination work.

Speed over ceremony, on purpose: rows go in with SQLAlchemy Core executemany
inserts through the models' tables (so the column types still apply: priority
names become their rank, aware datetimes become UTC), in batches, inside ONE
unit of work. That unit of work

- allocates the numbers by bumping ``tenants.ticket_seq`` once by N with
  UPDATE ... RETURNING, which takes the tenant row's lock: the new tickets get
  consecutive numbers after every existing one, and nobody else can take a
  number until the import commits;
- writes ONE audit row (``BULK_IMPORT``) for the whole import;
- writes no outbox events and no ticket activities: bulk rows trigger no
  webhooks, notifications or indexing, like a data migration would not.

All of it commits together, or nothing does.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import insert, select, update

from app.extensions import db
from app.models import Comment, Tenant, Ticket, TicketTag
from app.models.base import utcnow
from app.repositories.statistics import refresh_after_bulk_write
from app.repositories.unit_of_work import Actor, UnitOfWork

BATCH = 5_000
COMMENTS_PER_TICKET = 3
HISTORY = timedelta(days=365)  # imported tickets spread over the last year, numbers following time

PROBLEMS = (
    "Can't sign in", "Password reset link expired", "Invoice shows the wrong amount", "Refund not received",
    "Export is missing rows", "API returns 500", "Webhook not delivered", "Page loads slowly",
    "Attachment won't upload", "Notification emails delayed", "Two-factor code rejected", "Report totals don't match",
    "Search returns no results", "Can't change my email address", "Duplicate charge on card",
    "Integration disconnected", "Mobile app freezes", "Wrong time zone in reports", "Account locked",
    "Need to add more seats", "Question about the annual plan", "Data import failed", "Cannot delete a record",
    "Missing permissions for a colleague", "Custom field not saving", "Calendar sync broken",
)
CONTEXTS = (
    "since this morning", "after the latest update", "for our whole team", "on the mobile app",
    "in Firefox", "for one customer", "when using SSO", "on the EU workspace", "since last week",
    "during the nightly sync", "for new users only", "intermittently", "after changing plans",
    "with large files", "on Safari", "for the finance team",
)
DESCRIPTIONS = (
    "Hello,\n\n{problem} {context}. We tried again later and it still happens.\n\nThanks,\n{first}",
    "Hi team,\n\n**{problem}** {context}.\n\n- Account: {email}\n- Reference: REF-{ref}\n\nCan you take a look?",
    "{problem} {context}.\n\nSteps:\n1. Sign in\n2. Open the affected page\n3. See the error\n\n"
    "Expected it to work as before.",
    "Hi,\n\nQuick one: {problem_lower} {context}. Is this a known issue?\n\nBest regards,\n{first}",
)
CUSTOMER_COMMENTS = (
    "Any news on this one?", "It happened again just now.", "Adding a screenshot from a colleague.",
    "This is affecting more people now.", "We found a workaround for now, but please keep us posted.",
)
AGENT_REPLIES = (
    "Thanks for reaching out! I'm looking into this now.", "Could you tell me which browser you are using?",
    "I've reproduced the problem and passed it to our engineers.", "This should be fixed now, please try again.",
    "Thanks for your patience: we've deployed a fix.",
)
NOTES = (
    "Checked the logs: errors started after the last deploy.", "Customer is on the Business plan.",
    "Linked to the known issue.", "Second report this week, escalate if it happens again.",
)
TAGS = ("billing", "login", "api", "bug", "export", "mobile", "integration", "performance", "how-to", "vip",
        "email", "refund", "sso", "import")
FIRST_NAMES = ("Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Jamie", "Robin", "Avery", "Quinn",
               "Noor", "Mateo", "Yuki", "Amara", "Lena", "Omar", "Ines", "Tariq", "Elif", "Bruno")
LAST_NAMES = ("Walker", "Nguyen", "Fischer", "Okoro", "Silva", "Kowalski", "Haddad", "Moreau", "Larsen",
              "Tanaka", "Rossi", "Byrne", "Costa", "Ivanova", "Reyes", "Lindqvist")
DOMAINS = ("customer-one.example", "customer-two.example", "shopfront.example", "bigcorp.example",
           "smallbiz.example", "clinic.example", "school.example", "agency.example")


@dataclass
class ImportResult:
    tickets: int
    comments: int
    first_number: int
    last_number: int


def import_tickets(tenant: Tenant, count: int, *, progress: Callable[[int], None] | None = None,
                   batch_size: int = BATCH, seed: int | None = None) -> ImportResult:
    """Add ``count`` generated tickets, with COMMENTS_PER_TICKET comments each, to ``tenant``."""
    if count < 1:
        raise ValueError("count must be at least 1")
    rng = random.Random(seed)
    with UnitOfWork(tenant, Actor.system("demo")) as uow:
        staff = [u.id for u in uow.users.active()]
        last = uow.session.execute(
            update(Tenant)
            .where(Tenant.id == tenant.id)
            .values(ticket_seq=Tenant.ticket_seq + count)
            .returning(Tenant.ticket_seq)
        ).scalar_one()
        first = last - count + 1
        now = utcnow()
        start = now - HISTORY
        step = HISTORY / count
        comments = 0
        for batch_first in range(first, last + 1, batch_size):
            numbers = range(batch_first, min(batch_first + batch_size, last + 1))
            tickets = [_ticket(rng, tenant.id, n, start + step * (n - first), now, staff) for n in numbers]
            uow.session.execute(insert(Ticket.__table__), tickets)
            ids = dict(uow.session.execute(
                select(Ticket.__table__.c.number, Ticket.__table__.c.id)
                .where(Ticket.__table__.c.tenant_id == tenant.id,
                       Ticket.__table__.c.number.between(numbers[0], numbers[-1]))
            ).all())
            comment_rows, tag_rows = [], []
            for row in tickets:
                ticket_id = ids[row["number"]]
                comment_rows.extend(_comments(rng, tenant.id, ticket_id, row, staff))
                tag_rows.extend({"ticket_id": ticket_id, "tag": tag, "tenant_id": tenant.id}
                                for tag in rng.sample(TAGS, rng.choice((0, 1, 1, 2, 2, 3))))
            uow.session.execute(insert(Comment.__table__), comment_rows)
            if tag_rows:
                uow.session.execute(insert(TicketTag.__table__), tag_rows)
            comments += len(comment_rows)
            if progress is not None:
                progress(len(numbers))
        uow.audit("BULK_IMPORT", "Ticket", None, {"after": {
            "count": count, "comments": comments, "first_number": first, "last_number": last}})
        uow.commit()
    refresh_after_bulk_write(db.session, Ticket.__tablename__, Comment.__tablename__, TicketTag.__tablename__)
    return ImportResult(tickets=count, comments=comments, first_number=first, last_number=last)


def _ticket(rng: random.Random, tenant_id: int, number: int, around: datetime, now: datetime,
            staff: list[int]) -> dict:
    created = min(around + timedelta(minutes=rng.randint(-120, 120)), now - timedelta(hours=1))
    age = now - created
    status = _status_for_age(rng, age)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = f"{first}.{last}@{rng.choice(DOMAINS)}".lower()
    problem, context = rng.choice(PROBLEMS), rng.choice(CONTEXTS)
    description = rng.choice(DESCRIPTIONS).format(
        problem=problem, problem_lower=problem[0].lower() + problem[1:], context=context, first=first, email=email,
        ref=rng.randint(10_000, 99_999))
    # the conversation fits between creation and now, at most a few days long
    span = min(age, timedelta(days=rng.randint(1, 6)))
    updated = created + span
    solved = closed = None
    if status in ("solved", "closed"):
        solved = updated - span / 10
    if status == "closed":
        closed = updated
    assignee = None if status == "new" and rng.random() < 0.7 else rng.choice(staff) if staff else None
    return {
        "tenant_id": tenant_id, "number": number, "subject": f"{problem} {context}", "description": description,
        "status": status, "priority": rng.choices(("low", "normal", "high", "urgent"), (2, 5, 2, 1))[0],
        "requester_name": f"{first} {last}", "requester_email": email, "assignee_id": assignee,
        "created_at": created, "updated_at": updated, "solved_at": solved, "closed_at": closed,
    }


def _status_for_age(rng: random.Random, age: timedelta) -> str:
    if age < timedelta(days=2):
        return rng.choices(("new", "open", "pending"), (4, 4, 2))[0]
    if age < timedelta(days=21):
        return rng.choices(("open", "pending", "on_hold", "solved", "closed"), (3, 2, 1, 3, 1))[0]
    return rng.choices(("solved", "closed", "open"), (1, 8, 1))[0]


def _comments(rng: random.Random, tenant_id: int, ticket_id: int, ticket: dict, staff: list[int]) -> list[dict]:
    created, updated = ticket["created_at"], ticket["updated_at"]
    gap = (updated - created) / COMMENTS_PER_TICKET
    agent = ticket["assignee_id"] or (rng.choice(staff) if staff else None)
    if ticket["status"] == "new":  # a public reply by an agent would have opened it
        bodies = [(None, rng.choice(CUSTOMER_COMMENTS), True) for _ in range(COMMENTS_PER_TICKET)]
    else:
        bodies = [
            (agent, rng.choice(AGENT_REPLIES), True),
            (None, rng.choice(CUSTOMER_COMMENTS), True),
            (agent, rng.choice(NOTES), False) if rng.random() < 0.4 else (agent, rng.choice(AGENT_REPLIES), True),
        ]
    return [
        {"tenant_id": tenant_id, "ticket_id": ticket_id, "author_id": author, "body": body, "public": public,
         "created_at": created + gap * (i + 1)}
        for i, (author, body, public) in enumerate(bodies)
    ]
