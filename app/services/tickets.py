"""Ticket rules: creation, numbering, changes, status transitions, the queue.

Status rules (also in README.md):
- A ticket starts ``new``; no ticket can be put back to ``new``.
- ``closed`` is final: a closed ticket cannot change or take comments. Only a
  ``solved`` ticket can be closed.
- Between ``open``, ``pending``, ``on_hold`` and ``solved`` any move is allowed.
- A public reply by an agent on a ``new`` ticket opens it; a public reply on a
  ``solved`` ticket reopens it. Internal notes never change the status.
"""
from __future__ import annotations


from app.observability.tracing import traced
from app.errors import InvalidTransition, ValidationFailed
from app.models import Ticket, TicketActivity, User
from app.models.base import utcnow
from app.models.tickets import PRIORITIES, STATUSES
from app.repositories.pagination import MAX_LIMIT, Page
from app.repositories.tickets import SLA_FILTERS, SORTS, TicketFilter
from app.repositories.unit_of_work import UnitOfWork
from app.services.sla import clocks as sla_clocks
from app.services.validation import MAX_ID, Errors, check_length, clean_text, normalise_email, normalise_tags

EDITABLE = ("subject", "status", "priority", "assignee_id", "tags")


def allowed_transitions(current: str) -> tuple[str, ...]:
    if current == "closed":
        return ()
    targets = ["open", "pending", "on_hold", "solved"]
    if current == "solved":
        targets.append("closed")
    return tuple(t for t in targets if t != current)


def ticket_payload(ticket: Ticket) -> dict:
    """The versioned JSON form of a ticket carried by outbox events and webhooks."""
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "requester": {"name": ticket.requester_name, "email": ticket.requester_email},
        "assigneeId": ticket.assignee_id,
        "tags": ticket.tags,
        "createdAt": ticket.created_at.isoformat(),
        "updatedAt": ticket.updated_at.isoformat(),
    }


def check_assignee(uow: UnitOfWork, errors: Errors, assignee_id) -> User | None:
    """The person a ticket may be assigned to (None: unassigned), or an error on ``assignee_id``."""
    if assignee_id is None:
        return None
    user = uow.users.find(assignee_id) if isinstance(assignee_id, int) and 0 < assignee_id <= MAX_ID else None
    if user is None or not user.active:
        errors.add("assignee_id", "Not an active person of this workspace.")
        return None
    return user


@traced("ticket.create")
def create_ticket(
    uow: UnitOfWork,
    *,
    subject: str,
    description: str,
    requester_name: str,
    requester_email: str,
    priority: str = "normal",
    assignee_id: int | None = None,
    tags=(),
) -> Ticket:
    errors = Errors()
    subject, description, requester_name = clean_text(subject), clean_text(description), clean_text(requester_name)
    check_length(errors, "subject", subject, required=True, maximum=200)
    check_length(errors, "description", description, required=True, maximum=50_000)
    check_length(errors, "requester_name", requester_name, required=True, maximum=120)
    requester_email = normalise_email(errors, "requester_email", requester_email)
    if priority not in PRIORITIES:
        errors.add("priority", f"Must be one of: {', '.join(PRIORITIES)}.")
    tags = normalise_tags(errors, "tags", tags)
    check_assignee(uow, errors, assignee_id)
    errors.raise_if_any()

    now = utcnow()
    ticket = uow.tickets.add(
        Ticket(
            number=uow.tickets.next_number(),
            subject=subject,
            description=description,
            requester_name=requester_name,
            requester_email=requester_email,
            priority=priority,
            status="new",
            assignee_id=assignee_id,
            created_at=now,
            updated_at=now,
            tag_rows=[],
        )
    )
    uow.tickets.set_tags(ticket, tags)
    uow.session.flush()
    sla_clocks.start_clocks(uow, ticket)
    _activity(uow, ticket, "created", None, ticket.subject)
    uow.audit("CREATE", "Ticket", ticket.id, _snapshot(ticket), ticket_number=ticket.number)
    payload = ticket_payload(ticket)
    uow.emit("ticket.created", {"ticket": payload})
    if assignee_id is not None:
        uow.emit("ticket.assigned", {"ticket": payload, "assigneeId": assignee_id, "previousAssigneeId": None})
    return ticket


def get_ticket(uow: UnitOfWork, number: int) -> Ticket:
    return uow.tickets.get(number)


@traced("ticket.update")
def update_ticket(uow: UnitOfWork, number: int, changes: dict) -> Ticket:
    """Apply any of subject, status, priority, assignee_id, tags; one activity per changed field."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationFailed({name: ["Unknown field."] for name in sorted(unknown)})
    ticket = uow.tickets.get(number, for_update=True)
    errors = Errors()
    new = dict(changes)
    if "subject" in new:
        new["subject"] = clean_text(new["subject"])
        check_length(errors, "subject", new["subject"], required=True, maximum=200)
    if "priority" in new and new["priority"] not in PRIORITIES:
        errors.add("priority", f"Must be one of: {', '.join(PRIORITIES)}.")
    if "status" in new and new["status"] not in STATUSES:
        errors.add("status", f"Must be one of: {', '.join(STATUSES)}.")
    if "tags" in new:
        new["tags"] = sorted(normalise_tags(errors, "tags", new["tags"]))  # order is not a change
    if new.get("assignee_id") is not None and new.get("assignee_id") != ticket.assignee_id:
        check_assignee(uow, errors, new["assignee_id"])
    errors.raise_if_any()

    if ticket.status == "closed":
        raise InvalidTransition("A closed ticket is final and cannot be changed.")
    if "status" in new and new["status"] != ticket.status and new["status"] not in allowed_transitions(ticket.status):
        raise InvalidTransition(f"A {ticket.status} ticket cannot become {new['status']}.")

    before, after = {}, {}
    for name in EDITABLE:
        if name not in new:
            continue
        old_value = ticket.tags if name == "tags" else getattr(ticket, name)
        if new[name] == old_value:
            continue
        before[name], after[name] = old_value, new[name]
    if not after:
        return ticket

    previous_status, previous_assignee = ticket.status, ticket.assignee_id
    for name, value in after.items():
        if name == "tags":
            uow.tickets.set_tags(ticket, value)
        else:
            setattr(ticket, name, value)
        _activity(uow, ticket, name, _label(uow, name, before[name]), _label(uow, name, value))
    if "status" in after:
        _stamp_status(ticket)
    sla_clocks.ticket_changed(uow, ticket, set(after), previous_status)
    ticket.updated_at = utcnow()
    uow.session.flush()

    uow.audit("UPDATE", "Ticket", ticket.id, {"before": before, "after": after}, ticket_number=ticket.number)
    payload = ticket_payload(ticket)
    uow.emit("ticket.updated", {"ticket": payload, "changes": sorted(after)})
    if "status" in after:
        uow.emit("ticket.status_changed", {"ticket": payload, "from": previous_status, "to": ticket.status})
    if "assignee_id" in after:
        uow.emit("ticket.assigned", {"ticket": payload, "assigneeId": ticket.assignee_id,
                                      "previousAssigneeId": previous_assignee})
    return ticket


def reopen_for_reply(uow: UnitOfWork, ticket: Ticket, *, public: bool, by_agent: bool) -> str | None:
    """Status move caused by a comment (see module rules); returns the old status if it moved."""
    if not public:
        return None
    if ticket.status == "solved" or (ticket.status == "new" and by_agent):
        old = ticket.status
        ticket.status = "open"
        _stamp_status(ticket)
        _activity(uow, ticket, "status", old, "open")
        return old
    return None


def merged_tags(current: list[str], add=(), remove=()) -> list[str]:
    """A ticket's tags after adding and removing some: order kept, added ones at the end, no repeats."""
    tags = [t for t in current if t not in remove]
    return tags + [t for t in dict.fromkeys(add) if t not in tags]


def check_filter(errors: Errors, f: TicketFilter) -> None:
    """The queue's rules for a filter's values, for every caller (queue, API, saved views, bulk)."""
    for status in f.statuses:
        if status not in STATUSES:
            errors.add("status", f"Unknown status {status!r}.")
    for priority in f.priorities:
        if priority not in PRIORITIES:
            errors.add("priority", f"Unknown priority {priority!r}.")
    if f.sort not in SORTS:
        errors.add("sort", f"Must be one of: {', '.join(SORTS)}.")
    if f.assignee_id is not None and not 0 < f.assignee_id <= MAX_ID:
        errors.add("assignee", "Not a person id.")
    if f.sla is not None and f.sla not in SLA_FILTERS:
        errors.add("sla", f"Must be one of: {', '.join(SLA_FILTERS)}.")


def list_tickets(uow: UnitOfWork, f: TicketFilter, *, page: int = 1, limit: int = 20, cursor: str | None = None,
                 use_cursor: bool = False, detail: bool = False) -> Page:
    """A page of the queue as TicketRows (repositories.tickets): the queue's columns, or every column
    with ``detail`` (the API)."""
    errors = Errors()
    check_filter(errors, f)
    if not 1 <= limit <= MAX_LIMIT:
        errors.add("limit", f"Must be between 1 and {MAX_LIMIT}.")
    if page < 1:
        errors.add("page", "Must be at least 1.")
    if f.tag:
        f.tag = f.tag.strip().lower()
    errors.raise_if_any()
    if use_cursor or cursor:
        try:
            return uow.tickets.list_after(f, cursor, limit, detail=detail)
        except ValueError as exc:
            raise ValidationFailed.one("cursor", str(exc).capitalize() + ".") from exc
    return uow.tickets.list(f, page, limit, detail=detail)


# -- helpers --------------------------------------------------------------------------
def _stamp_status(ticket: Ticket) -> None:
    now = utcnow()
    if ticket.status == "solved":
        ticket.solved_at = now
    elif ticket.status == "closed":
        ticket.closed_at = now
    else:
        ticket.solved_at = None


def _activity(uow: UnitOfWork, ticket: Ticket, field: str, old, new) -> None:
    uow.tickets.add_activity(
        TicketActivity(
            ticket_id=ticket.id,
            actor_id=uow.actor.user_id,
            field=field,
            old_value=None if old is None else str(old)[:255],
            new_value=None if new is None else str(new)[:255],
            created_at=utcnow(),
        )
    )


def _label(uow: UnitOfWork, field: str, value) -> str | None:
    if value is None:
        return None
    if field == "assignee_id":
        user = uow.users.find(value)
        return user.name if user else f"#{value}"
    if field == "tags":
        return ", ".join(value) or None
    return str(value)


def _snapshot(ticket: Ticket) -> dict:
    return {
        "after": {
            "subject": ticket.subject,
            "status": ticket.status,
            "priority": ticket.priority,
            "requester_name": ticket.requester_name,
            "requester_email": ticket.requester_email,
            "assignee_id": ticket.assignee_id,
            "tags": ticket.tags,
        }
    }
