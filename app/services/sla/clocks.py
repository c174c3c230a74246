"""A ticket's SLA clocks: deadlines stored on the ticket, recomputed on every change that moves them.

Rules (docs/sla.md says the same for people):

- Both clocks start when the ticket is created. Targets come from the ticket's
  policy (first policy whose tag the ticket carries, else the default) and its
  priority, counted in business minutes when the policy uses business hours.
- Reply clock: first response, due ``first_response_minutes`` after creation,
  met by the first public reply of an agent. Once answered, a public message of
  the requester starts the next-reply clock (if the policy has that target),
  met by the agent's next public reply.
- Resolution clock: met by moving the ticket to solved. While the ticket is
  pending or on hold it stands still, and its deadline moves out by the
  business time paused. A solved ticket is paused too: reopening it restarts
  the clock from where it stood.
- Warning (at risk) once ``warning_percent`` of a target has elapsed; breach at
  the deadline. Each fires once through the sweep: firing spends the ticket's
  alarm column and sets its marker. A deadline that moves back into the future
  clears its marker, so a later breach is a new one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.models import Ticket
from app.models.base import utcnow
from app.repositories.unit_of_work import UnitOfWork
from app.services.sla.calendar import Schedule, add_business_minutes, business_minutes_between
from app.services.sla.policies import TenantSla, ensure_defaults, tenant_sla

PAUSING = ("pending", "on_hold")
STOPPED = ("solved", "closed")
RECOMPUTE_BATCH = 500


class _Events(list):
    def add(self, ticket: Ticket, clock: str, event: str, now: datetime, due: datetime | None = None, **detail):
        self.append({"ticket_id": ticket.id, "clock": clock, "event": event, "due_at": due, "detail": detail,
                     "created_at": now})


# -- what services call ----------------------------------------------------------------------
def start_clocks(uow: UnitOfWork, ticket: Ticket) -> None:
    """A new ticket: both clocks start at its creation."""
    now = ticket.created_at
    events = _Events()
    if _recompute(ticket, now, ensure_defaults(uow)):
        events.add(ticket, "first_response", "started", now, ticket.first_response_due_at)
        events.add(ticket, "resolution", "started", now, ticket.resolution_due_at)
    uow.sla.add_events(events)


def ticket_changed(uow: UnitOfWork, ticket: Ticket, changed: set[str], previous_status: str) -> None:
    """After update_ticket: a status move pauses, resumes, resolves or reopens; priority and tags
    (which may pick another policy) move deadlines."""
    if not changed & {"status", "priority", "tags"}:
        return
    if ticket.status in STOPPED and previous_status in STOPPED:
        return  # solved → closed, or a solved ticket's fields: the clocks stay as they ended
    now = utcnow()
    setup = ensure_defaults(uow)
    events = _Events()
    before = (ticket.sla_policy_id, ticket.reply_due_at, ticket.resolution_due_at)
    _move_status(ticket, previous_status, now, setup, events)
    if _recompute(ticket, now, setup) and not events:
        after = (ticket.sla_policy_id, ticket.reply_due_at, ticket.resolution_due_at)
        if after != before:
            events.add(ticket, "resolution", "recalculated", now, ticket.resolution_due_at,
                       reason=", ".join(sorted(changed & {"priority", "tags"})) or "status")
    uow.sla.add_events(events)


def comment_added(uow: UnitOfWork, ticket: Ticket, *, public: bool, by_agent: bool,
                  previous_status: str | None) -> None:
    """After add_comment: an agent's public reply meets the reply clock; a requester's public
    message starts the next-reply clock; a reply that reopened the ticket resumes resolution."""
    if not public:
        return
    now = utcnow()
    setup = ensure_defaults(uow)
    events = _Events()
    if previous_status is not None:
        _move_status(ticket, previous_status, now, setup, events)
    policy = setup.policy_for(ticket.tags)
    target = policy.target(ticket.priority) if policy else None
    if target is not None and by_agent:
        schedule = setup.schedule(policy)
        if ticket.first_response_at is None:
            minutes = business_minutes_between(schedule, ticket.created_at, now)
            ticket.first_response_at = now
            ticket.first_response_minutes = round(minutes)
            ticket.first_response_met = minutes <= target.first_response_minutes
            events.add(ticket, "first_response", "met" if ticket.first_response_met else "missed", now,
                       ticket.first_response_due_at, minutes=round(minutes))
        elif ticket.awaiting_reply_since is not None and ticket.reply_due_at is not None:
            events.add(ticket, "next_reply", "met" if now <= ticket.reply_due_at else "missed", now,
                       ticket.reply_due_at)
        ticket.awaiting_reply_since = None
        ticket.reply_warned = ticket.reply_breached = False  # the reply episode is over
    elif target is not None and ticket.first_response_at is not None and ticket.awaiting_reply_since is None \
            and target.next_reply_minutes and ticket.status not in STOPPED:
        ticket.awaiting_reply_since = now
        ticket.reply_warned = ticket.reply_breached = False
        events.add(ticket, "next_reply", "started", now,
                   add_business_minutes(setup.schedule(policy), now, target.next_reply_minutes))
    _recompute(ticket, now, setup)
    uow.sla.add_events(events)


def recompute_ticket(uow: UnitOfWork, ticket: Ticket, now: datetime | None = None) -> bool:
    """Deadlines from the ticket's current policy, priority and pauses (a policy or calendar change)."""
    if ticket.status in STOPPED:
        return False
    return _recompute(ticket, now or utcnow(), tenant_sla(uow))


def recompute_open_tickets(uow_factory, batch: int = RECOMPUTE_BATCH) -> int:
    """Every open ticket of a tenant, ``batch`` per transaction; ``uow_factory()`` opens one."""
    last_id, done = 0, 0
    while True:
        with uow_factory() as uow:
            tickets = uow.sla.open_tickets_after(last_id, batch)
            if not tickets:
                return done
            now = utcnow()
            for ticket in tickets:
                recompute_ticket(uow, ticket, now)
            # One row a batch: deadlines and SLA states moved (the remembered lists are keyed by the chain).
            uow.audit("SLA_RECOMPUTE", "Ticket", None, {"after": {
                "tickets": len(tickets), "first_number": min(t.number for t in tickets),
                "last_number": max(t.number for t in tickets)}})
            uow.commit()
        last_id, done = tickets[-1].id, done + len(tickets)


# -- the rules ----------------------------------------------------------------------------------
def _minutes(schedule: Schedule, start: datetime | None, end: datetime) -> float:
    return business_minutes_between(schedule, start, end) if start is not None else 0.0


def _move_status(ticket: Ticket, previous: str, now: datetime, setup: TenantSla, events: _Events) -> None:
    """Pause, resume, resolve or reopen the resolution clock for a status move."""
    if previous == ticket.status:
        return
    policy = setup.policy_for(ticket.tags)
    target = policy.target(ticket.priority) if policy else None
    if target is None:
        return
    schedule = setup.schedule(policy)
    was_stopped, stopped = previous in STOPPED, ticket.status in STOPPED
    should_pause = stopped or ticket.status in PAUSING
    if ticket.sla_paused_at is not None and not should_pause:
        paused = round(_minutes(schedule, ticket.sla_paused_at, now))
        ticket.sla_paused_minutes = (ticket.sla_paused_minutes or 0) + paused
        ticket.sla_paused_at = None
        events.add(ticket, "resolution", "reopened" if was_stopped else "resumed", now, None, paused_minutes=paused)
    elif ticket.sla_paused_at is None and should_pause:
        ticket.sla_paused_at = now
        if not stopped:
            events.add(ticket, "resolution", "paused", now, None, status=ticket.status)
    elif was_stopped and not stopped:
        events.add(ticket, "resolution", "reopened", now, None, status=ticket.status)

    if stopped and not was_stopped:
        paused_total = (ticket.sla_paused_minutes or 0) + _minutes(schedule, ticket.sla_paused_at, now)
        elapsed = max(0.0, _minutes(schedule, ticket.created_at, now) - paused_total)
        ticket.resolved_at = now
        ticket.resolution_minutes = round(elapsed)
        ticket.resolution_met = elapsed <= target.resolution_minutes
        events.add(ticket, "resolution", "met" if ticket.resolution_met else "missed", now,
                   ticket.resolution_due_at, minutes=round(elapsed))
    elif was_stopped and not stopped:
        ticket.resolved_at = ticket.resolution_met = ticket.resolution_minutes = None


def _arm(running: bool, moment: datetime | None, marker: bool, now: datetime) -> tuple[bool, datetime | None]:
    """(marker, alarm) for one escalation: armed while the clock runs and it has not fired;
    a moment back in the future clears the marker (a later breach is a new one)."""
    if moment is None:
        return marker, None
    if moment >= now:
        marker = False
    return marker, (moment if running and not marker else None)


def _recompute(ticket: Ticket, now: datetime, setup: TenantSla) -> bool:
    """Set every deadline, alarm and the state from the ticket as it is; False without a policy."""
    policy = setup.policy_for(ticket.tags)
    target = policy.target(ticket.priority) if policy else None
    if target is None:
        _clear(ticket)
        return False
    schedule, share = setup.schedule(policy), policy.warning_percent / 100
    is_open = ticket.status not in STOPPED
    ticket.sla_policy_id = policy.id
    ticket.first_response_due_at = add_business_minutes(schedule, ticket.created_at, target.first_response_minutes)

    reply = None
    if is_open and ticket.first_response_at is None:
        reply = (ticket.created_at, target.first_response_minutes)
    elif is_open and ticket.awaiting_reply_since is not None and target.next_reply_minutes:
        reply = (ticket.awaiting_reply_since, target.next_reply_minutes)
    reply_warn = None
    if reply is None:
        ticket.reply_due_at = None
    else:
        start, minutes = reply
        ticket.reply_due_at = add_business_minutes(schedule, start, minutes)
        reply_warn = add_business_minutes(schedule, start, minutes * share)
    ticket.reply_warned, ticket.reply_warn_at = _arm(reply is not None, reply_warn, ticket.reply_warned, now)
    ticket.reply_breached, ticket.reply_breach_at = _arm(reply is not None, ticket.reply_due_at,
                                                         ticket.reply_breached, now)

    paused = ticket.sla_paused_minutes or 0
    running = is_open and ticket.sla_paused_at is None
    ticket.resolution_due_at = add_business_minutes(schedule, ticket.created_at, target.resolution_minutes + paused)
    resolution_warn = add_business_minutes(schedule, ticket.created_at, target.resolution_minutes * share + paused)
    ticket.resolution_warned, ticket.resolution_warn_at = _arm(running, resolution_warn, ticket.resolution_warned, now)
    ticket.resolution_breached, ticket.resolution_breach_at = _arm(running, ticket.resolution_due_at,
                                                                   ticket.resolution_breached, now)

    dues = [d for d in (ticket.reply_due_at, ticket.resolution_due_at if running else None) if d is not None]
    warns = [w for w in (reply_warn, resolution_warn if running else None) if w is not None]
    ticket.sla_due_at = min(dues) if dues else None
    if not is_open:
        ticket.sla_state = "done"
    elif any(d < now for d in dues) or (reply and ticket.reply_breached) or (running and ticket.resolution_breached):
        ticket.sla_state = "breached"
    elif any(w < now for w in warns):
        ticket.sla_state = "at_risk"
    elif ticket.status in PAUSING:
        ticket.sla_state = "paused"
    else:
        ticket.sla_state = "ok"
    return True


def _clear(ticket: Ticket) -> None:
    ticket.sla_policy_id = None
    ticket.sla_state = "none"
    ticket.sla_due_at = ticket.reply_due_at = None
    ticket.reply_warn_at = ticket.reply_breach_at = ticket.resolution_warn_at = ticket.resolution_breach_at = None


# -- how a ticket's clocks read now (pages and API) -------------------------------------------------
def ticket_history(uow: UnitOfWork, ticket: Ticket):
    """The ticket's SLA events, oldest first."""
    return uow.sla.events_for(ticket)


@dataclass(frozen=True)
class ClockView:
    name: str  # first_response, next_reply, resolution
    due_at: datetime | None
    done_at: datetime | None  # answered / resolved
    met: bool | None
    running: bool
    paused_since: datetime | None
    seconds_left: int | None  # negative once overdue; None when not running

    @property
    def overdue(self) -> bool:
        return self.seconds_left is not None and self.seconds_left < 0


def live_state(ticket: Ticket, now: datetime | None = None) -> str:
    """The stored state, brought up to date between sweeps (a deadline may have passed since)."""
    state = ticket.sla_state or "none"
    if state in ("none", "done", "breached"):
        return state
    now = now or utcnow()
    if ticket.sla_due_at is not None and ticket.sla_due_at < now:
        return "breached"
    if state == "ok" and any(a is not None and a < now for a in (ticket.reply_warn_at, ticket.resolution_warn_at)):
        return "at_risk"
    return state


def clock_views(ticket: Ticket, now: datetime | None = None) -> list[ClockView]:
    now = now or utcnow()

    def left(due):
        return int((due - now).total_seconds()) if due is not None else None

    views = [ClockView("first_response", ticket.first_response_due_at, ticket.first_response_at,
                       ticket.first_response_met, ticket.first_response_at is None and ticket.reply_due_at is not None,
                       None, None)]
    if views[0].running:
        views[0] = ClockView("first_response", ticket.first_response_due_at, None, None, True, None,
                             left(ticket.reply_due_at))
    if ticket.awaiting_reply_since is not None and ticket.reply_due_at is not None:
        views.append(ClockView("next_reply", ticket.reply_due_at, None, None, True, None, left(ticket.reply_due_at)))
    paused = ticket.sla_paused_at if ticket.status in PAUSING else None
    running = ticket.status not in STOPPED and ticket.sla_paused_at is None and ticket.resolution_due_at is not None
    views.append(ClockView("resolution", ticket.resolution_due_at, ticket.resolved_at, ticket.resolution_met,
                           running, paused, left(ticket.resolution_due_at) if running else None))
    return views
