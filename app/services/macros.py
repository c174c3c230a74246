"""Canned replies (macros): per-tenant reply templates with placeholders and optional actions.

Placeholders are ``{{requester.name}}``, ``{{requester.email}}``, ``{{ticket.number}}``,
``{{ticket.subject}}`` and ``{{agent.name}}`` (spaces inside the braces are allowed). They are
replaced by plain text substitution in one pass: a value is never scanned again (a requester
called ``{{agent.name}}`` stays that text) and no template engine ever sees a macro's body. The
result is plain text for the reply box; pages escape it like any other text, so HTML in a
requester's name stays inert.

A macro may also set the ticket's status and add tags; those actions are applied through the
ticket service when the reply carrying the macro is sent, in the same unit of work as the reply.
Leads and admins manage macros; every agent may use them.
"""
from __future__ import annotations

import re

from app.errors import PermissionDenied
from app.models import Ticket, User
from app.models.base import utcnow
from app.models.macros import Macro
from app.repositories.macros import MacroRepository
from app.repositories.unit_of_work import UnitOfWork
from app.services import tickets as ticket_service
from app.services.validation import Errors, check_length, clean_text, normalise_tags

PLACEHOLDERS = ("requester.name", "requester.email", "ticket.number", "ticket.subject", "agent.name")
PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}]{0,60}?)\s*\}\}")
MACRO_STATUSES = ("open", "pending", "on_hold", "solved")  # never back to new; closing needs a solved ticket
MAX_NAME, MAX_BODY = 100, 10_000


def macros_of(uow: UnitOfWork) -> MacroRepository:
    return MacroRepository(uow.session, uow.tenant_id)


def list_macros(uow: UnitOfWork) -> list[Macro]:
    return macros_of(uow).all()


def get_macro(uow: UnitOfWork, macro_id: int) -> Macro:
    return macros_of(uow).get(macro_id)


# -- rendering --------------------------------------------------------------------------------
def placeholder_values(ticket: Ticket, agent: User | None) -> dict[str, str]:
    return {
        "requester.name": ticket.requester_name,
        "requester.email": ticket.requester_email,
        "ticket.number": str(ticket.number),
        "ticket.subject": ticket.subject,
        "agent.name": agent.name if agent is not None else "",
    }


def render_body(body: str, values: dict[str, str]) -> str:
    """Replace known placeholders by their values, in one pass; anything else stays as written."""

    def replace(match: re.Match) -> str:
        name = match.group(1)
        return values[name] if name in values else match.group(0)

    return PLACEHOLDER_RE.sub(replace, body)


def render_for_ticket(uow: UnitOfWork, number: int, macro_id: int) -> tuple[Macro, str]:
    """The macro and its body rendered for this ticket and the acting agent (plain text)."""
    macro = macros_of(uow).get(macro_id)
    ticket = ticket_service.get_ticket(uow, number)
    return macro, render_body(macro.body, placeholder_values(ticket, uow.actor.user))


def apply_actions(uow: UnitOfWork, number: int, macro_id: int) -> Macro:
    """Apply the macro's actions to the ticket through the ticket service (its rules, activities, audit, events)."""
    macro = macros_of(uow).get(macro_id)
    changes: dict = {}
    if macro.set_status:
        changes["status"] = macro.set_status
    if macro.tags:
        changes["tags"] = ticket_service.merged_tags(uow.tickets.get(number).tags, macro.tags)
    if changes:
        ticket_service.update_ticket(uow, number, changes)
    return macro


# -- management (leads and admins) ----------------------------------------------------------------
def _require_lead(uow: UnitOfWork) -> None:
    user = uow.actor.user
    if uow.actor.type != "system" and (user is None or not user.has_role("lead")):
        raise PermissionDenied("Only leads and admins manage macros.")


def _validated(uow: UnitOfWork, values: dict, existing: Macro | None) -> dict:
    errors = Errors()
    name = clean_text(values.get("name"))
    body = (values.get("body") or "").strip()
    check_length(errors, "name", name, required=True, maximum=MAX_NAME)
    check_length(errors, "body", body, required=True, maximum=MAX_BODY)
    unknown = sorted({m.group(1) for m in PLACEHOLDER_RE.finditer(body)} - set(PLACEHOLDERS))
    if unknown:
        shown = ", ".join("{{" + u[:40] + "}}" for u in unknown[:5])
        allowed = ", ".join("{{" + p + "}}" for p in PLACEHOLDERS)
        errors.add("body", f"Unknown placeholder {shown}. Use {allowed}.")
    status = clean_text(values.get("set_status")) or None
    if status is not None and status not in MACRO_STATUSES:
        errors.add("set_status", f"Must be one of: {', '.join(MACRO_STATUSES)}, or empty.")
    tags = normalise_tags(errors, "add_tags", values.get("add_tags") or "")
    if name and "name" not in errors.errors:
        clash = macros_of(uow).named(name)
        if clash is not None and (existing is None or clash.id != existing.id):
            errors.add("name", "Another macro already has this name.")
    errors.raise_if_any()
    return {"name": name, "body": body, "set_status": status, "add_tags": ",".join(tags)}


def _snapshot(macro: Macro) -> dict:
    return {"name": macro.name, "set_status": macro.set_status, "add_tags": macro.tags, "length": len(macro.body)}


def create_macro(uow: UnitOfWork, values: dict) -> Macro:
    _require_lead(uow)
    clean = _validated(uow, values, existing=None)
    now = utcnow()
    macro = macros_of(uow).add(Macro(**clean, created_by_id=uow.actor.user_id, created_at=now, updated_at=now))
    uow.session.flush()
    uow.audit("CREATE", "Macro", macro.id, {"after": _snapshot(macro)})
    return macro


def update_macro(uow: UnitOfWork, macro_id: int, values: dict) -> Macro:
    _require_lead(uow)
    macro = macros_of(uow).get(macro_id)
    clean = _validated(uow, values, existing=macro)
    before = _snapshot(macro)
    for name, value in clean.items():
        setattr(macro, name, value)
    macro.updated_at = utcnow()
    uow.session.flush()
    uow.audit("UPDATE", "Macro", macro.id, {"before": before, "after": _snapshot(macro)})
    return macro


def delete_macro(uow: UnitOfWork, macro_id: int) -> None:
    _require_lead(uow)
    macro = macros_of(uow).get(macro_id)
    uow.audit("DELETE", "Macro", macro.id, {"before": _snapshot(macro)})
    macros_of(uow).delete(macro)
    uow.session.flush()
