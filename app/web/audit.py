"""/audit: the workspace's audit log for leads and admins, filtered, paged, exportable as CSV."""
from __future__ import annotations

import json
from dataclasses import dataclass

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask_login import current_user
from jinja2_fragments.flask import render_block

from app.errors import ValidationFailed
from app.models.base import utcnow
from app.repositories.audit import DEFAULT_LIMIT
from app.services import audit as audit_service
from app.web.context import page_uow
from app.web.session import role_required

bp = Blueprint("audit", __name__)

# URL parameter → build_filter argument; the API uses the same names.
PARAMS = {"entityType": "entity_type", "entityId": "entity_id", "ticketNumber": "ticket_number",
          "userId": "user_id", "action": "action", "startDate": "start", "endDate": "end"}
ERROR_PARAMS = {"entity_type": "entityType", "entity_id": "entityId", "ticket_number": "ticketNumber",
                "user_id": "userId", "action": "action", "start_date": "startDate", "end_date": "endDate"}
LABELS = {"entityType": "Entity type", "entityId": "Entity id", "ticketNumber": "Ticket #", "userId": "Person",
          "action": "Action", "startDate": "From", "endDate": "To", "page": "Page", "limit": "Rows per page"}
ACTION_BADGES = {"CREATE": "status-solved", "UPDATE": "status-pending", "LOGIN": "status-on_hold",
                 "LOGIN_FAILED": "status-open", "LOGOUT": "status-closed", "TOKEN_CREATED": "status-new",
                 "TOKEN_REVOKED": "status-open", "EXPORT": "status-on_hold", "CHECKPOINT": "status-closed"}


def _form(args) -> dict:
    return {param: args.get(param, "").strip()[:100] for param in PARAMS}


def _filters(form: dict):
    return audit_service.build_filter(current_user.tenant, **{PARAMS[k]: v for k, v in form.items()})


def _query_string(form: dict, **overrides) -> dict:
    return {k: v for k, v in {**form, **overrides}.items() if v not in ("", None)}


@bp.get("/audit")
@role_required("lead")
def index():
    form = _form(request.args)
    uow = page_uow()
    page, errors = None, {}
    try:
        page = audit_service.search_audit(uow, _filters(form), page=request.args.get("page", 1, type=int),
                                          limit=request.args.get("limit", DEFAULT_LIMIT, type=int))
    except ValidationFailed as exc:
        errors = {ERROR_PARAMS.get(name, name): messages for name, messages in exc.errors.items()}
    size = {"limit": request.args["limit"]} if request.args.get("limit") else {}  # kept by the page links
    context = dict(page=page, form=form, errors=errors, people=uow.users.list(1, 500).items,
                   actions=audit_service.KNOWN_ACTIONS, entity_types=audit_service.KNOWN_ENTITY_TYPES,
                   badges=ACTION_BADGES, labels=LABELS, describe=change_lines,
                   query=lambda **o: _query_string({**form, **size}, **o))
    status = 422 if errors else 200
    if request.htmx and request.htmx.target == "audit-results":
        return render_block("audit/index.html", "results", **context), status
    return render_template("audit/index.html", **context), status


@bp.get("/audit/export.csv")
@role_required("lead")
def export():
    """The current filter's rows as CSV, streamed; the export itself is an audit row."""
    lines = audit_service.export_csv(page_uow(), _filters(_form(request.args)))
    filename = f"audit-{current_user.tenant.slug}-{utcnow():%Y%m%d-%H%M%S}.csv"
    return Response(stream_with_context(lines), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


# -- showing changes -----------------------------------------------------------------------
@dataclass(frozen=True)
class ChangeLine:
    field: str
    old: str | None  # None: nothing before (a value set, or a plain fact)
    new: str


def change_lines(changes: dict | None) -> list[ChangeLine]:
    """Readable lines for a row's changes: ``{"before": {...}, "after": {...}}`` becomes
    field: old → new; any other key is shown as it is."""
    changes = changes if isinstance(changes, dict) else {}
    before = changes.get("before") if isinstance(changes.get("before"), dict) else {}
    after = changes.get("after") if isinstance(changes.get("after"), dict) else {}
    lines = []
    for name in [*after, *(k for k in before if k not in after)]:
        old = _show(before[name]) if name in before else None
        lines.append(ChangeLine(_label(name), old, _show(after.get(name)) if name in after else "none"))
    for name, value in changes.items():
        if name in ("before", "after") and isinstance(value, dict):
            continue
        lines.append(ChangeLine(_label(name), None, _show(value)))
    return lines


def _label(name: str) -> str:
    return name.removesuffix("_id").replace("_", " ")


def _show(value) -> str:
    if value is None or value == [] or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    else:
        text = str(value)
    return text if len(text) <= 300 else text[:299] + "…"
