"""The queue's filters as plain parameters, and saved views of them.

Rules:
- A view is the queue's query parameters (status, priority, assignee, tag, q, sla, sort) under a name.
  ``assignee=me`` stays relative: it means whoever looks at the view.
- Every workspace has the default views (``DEFAULT_VIEWS``): they are code, not rows, so they are there
  without setup and cannot be renamed or deleted.
- Anyone may save private views; only leads and admins may share a view with the workspace. Owners
  rename and delete their private views; leads and admins manage the shared ones. Someone else's
  private view does not exist for you (NotFound).
- At most ``MAX_VIEWS`` private views per person and ``MAX_VIEWS`` shared views per workspace: the
  sidebar counts every view with one COUNT each.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.models.base import utcnow
from app.models.tickets import OPEN_STATUSES
from app.models.views import SavedView
from app.repositories.tickets import TicketFilter
from app.repositories.unit_of_work import UnitOfWork
from app.services import tickets as ticket_service
from app.services.validation import MAX_ID, Errors, clean_text

FILTER_KEYS = ("status", "priority", "assignee", "tag", "q", "sla", "sort")
MULTI_KEYS = ("status", "priority")
MAX_VIEWS = 10
NAME_MAX = 60


@dataclass(frozen=True)
class DefaultView:
    key: str
    name: str
    params: dict


DEFAULT_VIEWS = (
    DefaultView("mine", "My open tickets", {"status": list(OPEN_STATUSES), "assignee": ["me"]}),
    DefaultView("unassigned", "Unassigned", {"status": list(OPEN_STATUSES), "assignee": ["unassigned"]}),
    DefaultView("due-soon", "Due soon", {"sla": ["due_soon"], "sort": ["due"]}),
    DefaultView("breached", "Breached", {"sla": ["breached"], "sort": ["due"]}),
)


@dataclass
class ViewEntry:
    """One line of the sidebar."""

    key: str  # "mine", … for defaults, "v12" for saved views
    name: str
    params: dict
    count: int | None
    view: SavedView | None = None  # None for a default view
    can_manage: bool = False

    @property
    def group(self) -> str:
        return "default" if self.view is None else ("shared" if self.view.shared else "private")

    @property
    def canonical(self) -> str:
        return canonical_query(self.params)


# -- filters as parameters ---------------------------------------------------------------------------
def clean_params(raw: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Known keys, trimmed, without empty values or the default sort: the form stored and compared."""
    params: dict[str, list[str]] = {}
    for key in FILTER_KEYS:
        values = [clean_text(v) for v in raw.get(key, ()) if clean_text(v)]
        if key == "tag":
            values = [v.lower() for v in values]
        if key == "q":
            values = [v[:200] for v in values]
        if key == "assignee":  # anything else means anyone, as it always has in the queue
            values = [v for v in values if v in ("me", "unassigned") or (v.isascii() and v.isdigit())]
        if key not in MULTI_KEYS:
            values = values[:1]
        else:
            values = list(dict.fromkeys(values))
        if key == "sort" and values == ["updated"]:
            values = []
        if values:
            params[key] = values
    return params


def canonical_query(params: Mapping[str, Sequence[str]]) -> str:
    """The same string for the same filter whatever the order of parameters (marks the active view)."""
    from urllib.parse import urlencode

    cleaned = clean_params(params)
    return urlencode(sorted((k, v) for k, values in cleaned.items() for v in values))


def ticket_filter(params: Mapping[str, Sequence[str]], user_id: int) -> TicketFilter:
    """The repository's filter for these parameters, as seen by ``user_id`` (``assignee=me``).

    Refuses unknown values (ValidationFailed, the queue's own messages) before anything runs with them:
    a bulk change by filter or a saved view never works from a filter the queue would refuse.
    """
    p = clean_params(params)
    first = lambda key: p.get(key, [None])[0]  # noqa: E731
    f = TicketFilter(statuses=p.get("status", []), priorities=p.get("priority", []), tag=first("tag"),
                     text=first("q"), sort=first("sort") or "updated", sla=first("sla"))
    assignee = first("assignee") or ""
    if assignee == "me":
        f.assignee_id = user_id
    elif assignee == "unassigned":
        f.unassigned = True
    elif assignee:
        f.assignee_id = int(assignee)  # clean_params kept ASCII digits only
    errors = Errors()
    ticket_service.check_filter(errors, f)
    errors.raise_if_any()
    return f


# -- the sidebar ----------------------------------------------------------------------------------------
def sidebar(uow: UnitOfWork) -> list[ViewEntry]:
    """Default views, then shared, then the user's own, each with its live count.

    One query for the saved views, then one COUNT per view (at most 4 + 2 × MAX_VIEWS).
    """
    user = uow.actor.user
    entries = [ViewEntry(d.key, d.name, d.params, None) for d in DEFAULT_VIEWS]
    for view in uow.views.visible_to(user.id):
        entries.append(ViewEntry(f"v{view.id}", view.name, view.filters, None, view, can_manage(user, view)))
    for entry in entries:
        try:
            entry.count = uow.tickets.count(ticket_filter(entry.params, user.id))
        except ValidationFailed:  # a stored filter no longer valid: listed without a count
            entry.count = None
    return entries


def can_manage(user, view: SavedView) -> bool:
    if view.shared:
        return user.has_role("lead")
    return view.owner_id == user.id


# -- saving ------------------------------------------------------------------------------------------
def _clean_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed.one("name", "Give the view a name.")
    if len(name) > NAME_MAX:
        raise ValidationFailed.one("name", f"Must be at most {NAME_MAX} characters.")
    return name


def create_view(uow: UnitOfWork, *, name: str, params: Mapping[str, Sequence[str]], shared: bool = False) -> SavedView:
    user = uow.actor.user
    name = _clean_name(name)
    params = clean_params(params)
    ticket_filter(params, user.id)  # refuses what the queue would refuse
    if shared and not user.has_role("lead"):
        raise PermissionDenied("Only leads and admins can share a view with the workspace.")
    if uow.views.count_for(shared=shared, owner_id=user.id) >= MAX_VIEWS:
        where = "shared views in this workspace" if shared else "private views"
        raise ValidationFailed.one("name", f"At most {MAX_VIEWS} {where}: delete one first.")
    if uow.views.name_taken(name, shared=shared, owner_id=user.id):
        raise Conflict(f"There is already a {'shared' if shared else 'private'} view named {name!r}.")
    now = utcnow()
    view = uow.views.add(SavedView(owner_id=user.id, name=name, shared=shared, filters=params,
                                   created_at=now, updated_at=now))
    uow.session.flush()
    uow.audit("CREATE", "SavedView", view.id, {"after": {"name": name, "shared": shared, "filters": params}})
    return view


def _managed(uow: UnitOfWork, view_id: int) -> SavedView:
    user = uow.actor.user
    view = uow.views.get_visible(view_id, user.id, for_update=True)
    if not can_manage(user, view):
        raise PermissionDenied("Only leads and admins can change a shared view.")
    return view


def rename_view(uow: UnitOfWork, view_id: int, name: str) -> SavedView:
    view = _managed(uow, view_id)
    name = _clean_name(name)
    if name == view.name:
        return view
    if uow.views.name_taken(name, shared=view.shared, owner_id=view.owner_id, except_id=view.id):
        raise Conflict(f"There is already a {'shared' if view.shared else 'private'} view named {name!r}.")
    before = view.name
    view.name, view.updated_at = name, utcnow()
    uow.audit("UPDATE", "SavedView", view.id, {"before": {"name": before}, "after": {"name": name}})
    return view


def delete_view(uow: UnitOfWork, view_id: int) -> str:
    view = _managed(uow, view_id)
    name = view.name
    uow.audit("DELETE", "SavedView", view.id, {"before": {"name": name, "shared": view.shared}})
    uow.views.delete(view)
    return name


# -- the queue's live-update notice ------------------------------------------------------------------
SHOWN_MAX = 100


def changed_since(uow: UnitOfWork, f: TicketFilter, since, shown: Sequence[int] = ()) -> int:
    """Tickets of the queue's view that changed after ``since``: those matching its filter now, and those
    it showed (``shown``, the page's numbers) that changed so that they left it. One COUNT."""
    shown = sorted({n for n in shown if 0 < n <= MAX_ID})[:SHOWN_MAX]
    return uow.tickets.count_updated_since(f, since, shown)
