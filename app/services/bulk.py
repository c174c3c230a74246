"""Changing many tickets at once from the queue.

Rules:
- A bulk change names its tickets by number, or by a queue filter that is run again here (the
  client never sends a list it could have crafted for "all matching").
- Each ticket goes through ``tickets.update_ticket``: the same rules, one activity per changed field,
  one audit row and its outbox events per ticket, exactly as if changed on its own page.
- All or nothing: one unit of work. A number that is not a ticket of this workspace is
  ``TicketNotFound`` (404); a ticket whose state refuses the change (a closed ticket, a move back to
  new) refuses the whole request with a message naming it.
- Tickets that already have the values are left alone (no audit row, no event), so a closed ticket
  that already carries a tag does not block adding that tag to the others.
- At most ``BULK_LIMIT`` tickets per request.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from app.errors import InvalidTransition, TicketNotFound, ValidationFailed
from app.models.tickets import PRIORITIES, STATUSES
from app.observability.tracing import traced
from app.repositories.tickets import TicketFilter
from app.repositories.unit_of_work import UnitOfWork
from app.services import tickets as ticket_service
from app.services.validation import MAX_ID, Errors, normalise_tags

BULK_LIMIT = 500

_STATUS_LABELS = {"on_hold": "On hold"}


@dataclass
class BulkChanges:
    status: str | None = None
    priority: str | None = None
    assign: bool = False  # assignee_id is applied only when True (None then means "unassign")
    assignee_id: int | None = None
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.status or self.priority or self.assign or self.add_tags or self.remove_tags)


@dataclass
class BulkResult:
    changed: list[int]
    unchanged: list[int]
    message: str


@traced("ticket.bulk_update")
def bulk_update(uow: UnitOfWork, changes: BulkChanges, *, numbers: list[int] | None = None,
                ticket_filter: TicketFilter | None = None, limit: int | None = None) -> BulkResult:
    """Apply ``changes`` to the tickets numbered ``numbers`` or matching ``ticket_filter``, in ``uow``.

    The caller commits. Raises ValidationFailed (422), TicketNotFound (404) or InvalidTransition (409),
    and then nothing has been changed (the caller's unit of work rolls back).
    """
    limit = BULK_LIMIT if limit is None else limit
    assignee_name = _check_changes(uow, changes)
    wanted = _resolve(uow, numbers, ticket_filter, limit)
    tickets = uow.tickets.lock_many(wanted)
    if len(tickets) != len(wanted):
        found = {t.number for t in tickets}
        raise TicketNotFound(next(n for n in wanted if n not in found))

    changed, unchanged = [], []
    for ticket in tickets:
        effective = _effective(ticket, changes)
        if not effective:
            unchanged.append(ticket.number)
            continue
        try:
            ticket_service.update_ticket(uow, ticket.number, effective)
        except InvalidTransition as exc:
            raise InvalidTransition(f"Ticket #{ticket.number}: {exc} Nothing was changed.") from exc
        except ValidationFailed as exc:
            raise ValidationFailed({name: [f"Ticket #{ticket.number}: {m}" for m in messages]
                                    for name, messages in exc.errors.items()}) from exc
        changed.append(ticket.number)
    return BulkResult(changed, unchanged, _message(changes, assignee_name, len(changed), len(unchanged)))


def _check_changes(uow: UnitOfWork, changes: BulkChanges) -> str | None:
    """Validate once for all tickets; returns the new assignee's name."""
    errors = Errors()
    changes.add_tags = normalise_tags(errors, "add_tags", changes.add_tags)
    changes.remove_tags = normalise_tags(errors, "remove_tags", changes.remove_tags)
    if changes.empty and not errors.errors:  # after cleaning: " , " names no tag
        errors.add("changes", "Choose a change to apply: status, priority, assignee or tags.")
    if changes.status and changes.status not in STATUSES:
        errors.add("status", f"Must be one of: {', '.join(STATUSES)}.")
    if changes.priority and changes.priority not in PRIORITIES:
        errors.add("priority", f"Must be one of: {', '.join(PRIORITIES)}.")
    if set(changes.add_tags) & set(changes.remove_tags):
        errors.add("remove_tags", "A tag cannot be added and removed at once.")
    person = ticket_service.check_assignee(uow, errors, changes.assignee_id) if changes.assign else None
    errors.raise_if_any()
    return person.name if person else None


def _resolve(uow: UnitOfWork, numbers: list[int] | None, ticket_filter: TicketFilter | None, limit: int) -> list[int]:
    if (numbers is None) == (ticket_filter is None):
        raise ValueError("name the tickets by numbers or by a filter, not both")
    if ticket_filter is not None:
        total = uow.tickets.count(ticket_filter, exact=True)
        if total > limit:
            raise ValidationFailed.one("numbers", f"{total} tickets match this filter; a bulk change takes at most "
                                                  f"{limit}. Narrow the filter and try again.")
        wanted = uow.tickets.numbers(ticket_filter, limit)
        if not wanted:
            raise ValidationFailed.one("numbers", "No tickets match this filter.")
        return wanted
    wanted = sorted(set(numbers))
    if not wanted:
        raise ValidationFailed.one("numbers", "Select at least one ticket.")
    if len(wanted) > limit:
        raise ValidationFailed.one("numbers", f"{len(wanted)} tickets selected; a bulk change takes at most {limit}.")
    if any(not isinstance(n, int) or not 0 < n <= MAX_ID for n in wanted):
        raise TicketNotFound(next(n for n in wanted if not isinstance(n, int) or not 0 < n <= MAX_ID))
    return wanted


def _effective(ticket, changes: BulkChanges) -> dict:
    """The part of the change this ticket does not have yet."""
    effective: dict = {}
    if changes.status and ticket.status != changes.status:
        effective["status"] = changes.status
    if changes.priority and ticket.priority != changes.priority:
        effective["priority"] = changes.priority
    if changes.assign and ticket.assignee_id != changes.assignee_id:
        effective["assignee_id"] = changes.assignee_id
    if changes.add_tags or changes.remove_tags:
        current = ticket.tags
        tags = ticket_service.merged_tags(current, changes.add_tags, changes.remove_tags)
        if sorted(tags) != sorted(current):
            effective["tags"] = tags
    return effective


def _message(changes: BulkChanges, assignee_name: str | None, changed: int, unchanged: int) -> str:
    parts = []
    if changes.status:
        parts.append(f"status set to {_STATUS_LABELS.get(changes.status, changes.status.capitalize())}")
    if changes.priority:
        parts.append(f"priority set to {changes.priority.capitalize()}")
    if changes.assign:
        parts.append(f"assigned to {assignee_name}" if assignee_name else "unassigned")
    if changes.add_tags:
        parts.append(f"tagged {', '.join(changes.add_tags)}")
    if changes.remove_tags:
        parts.append(f"tag{'s' if len(changes.remove_tags) > 1 else ''} {', '.join(changes.remove_tags)} removed")
    what = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    what = what[0].upper() + what[1:]

    def tickets(n: int) -> str:
        return f"{n} ticket{'s' if n != 1 else ''}"

    if not changed:
        return f"Nothing changed: the {tickets(unchanged)} already had {'it' if unchanged == 1 else 'this'}."
    message = f"{what} on {tickets(changed)}."
    if unchanged:
        message += f" {tickets(unchanged).capitalize()} already had {'it' if unchanged == 1 else 'this'}."
    return message
