"""Marshmallow schemas of the JSON API: camelCase on the wire, snake_case in Python."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, pre_load, validate
from sqlalchemy.orm.attributes import set_committed_value

from app.models import PRIORITIES, ROLES, STATUSES
from app.repositories.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from app.models.sla import SLA_STATES
from app.repositories.tickets import SORTS
from app.services.sla.clocks import live_state


MAX_ID = 2**31 - 1  # ids and numbers are 32-bit integers; larger ones cannot exist (and overflow SQLite)
NUMBER = f"int(min=1, max={MAX_ID})"  # URL converter of a ticket number


def camelcase(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


class CamelCaseSchema(Schema):
    """Every field's wire name is the camelCase form of its attribute name."""

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        field_obj.data_key = camelcase(field_obj.data_key or field_name)

    @pre_load
    def refuse_nul(self, data, **kwargs):
        """PostgreSQL text cannot hold NUL (0x00): a value carrying one is a 422 for its field, never a 500."""
        if hasattr(data, "keys"):
            bad = {key: ["Must not contain NUL (\\u0000) characters."] for key in data.keys() if _has_nul(data[key])}
            if bad:
                raise ValidationError(bad)
        return data


class Repeatable(fields.List):
    """A query parameter given several times (?status=open&status=pending) or comma-separated.

    An empty value (``?status=``, ``?status=open,``) is not one of the documented values: the
    choice validator refuses it (422) rather than reading it as "no filter".
    """

    def _deserialize(self, value, attr, data, **kwargs):
        values = value if isinstance(value, (list, tuple)) else [value]
        split = [part.strip() for item in values for part in str(item).split(",")]
        return super()._deserialize(split, attr, data, **kwargs)


def _choice(choices, what: str):
    """Every value is one of ``choices`` (a plain function: the enum is documented on the items)."""

    def check(values: list[str]) -> None:
        unknown = [v for v in values if v not in choices]
        if unknown:
            raise ValidationError(f"Unknown {what} {', '.join(map(repr, unknown))}; use one of: {', '.join(choices)}.")

    return check


# -- query strings --------------------------------------------------------------------
class PageQuery(CamelCaseSchema):
    class Meta:
        unknown = EXCLUDE

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_ID),
                          metadata={"description": "Page number, from 1."})
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT),
                           metadata={"description": f"Items per page (at most {MAX_LIMIT})."})


class TicketQuery(PageQuery):
    status = Repeatable(fields.String(metadata={"enum": list(STATUSES)}), load_default=list,
                        validate=_choice(STATUSES, "status"),
                        metadata={"description": "Any of these statuses: repeat or separate with commas."})
    priority = Repeatable(fields.String(metadata={"enum": list(PRIORITIES)}), load_default=list,
                          validate=_choice(PRIORITIES, "priority"),
                          metadata={"description": "Any of these priorities: repeat or separate with commas."})
    assignee = fields.String(
        validate=validate.Regexp(r"^([0-9]{1,9}|me|unassigned)$", error="Use a user id, 'me' or 'unassigned'."),
        metadata={"description": "A user id, `me` or `unassigned`."},
    )
    tag = fields.String(validate=validate.Length(max=50), metadata={"description": "Tickets carrying this tag."})
    q = fields.String(validate=validate.Length(max=200), metadata={"description": "Text in the subject."})
    sort = fields.String(load_default="updated", validate=validate.OneOf(list(SORTS)),
                         metadata={"description": "Newest first by this key; `due`: SLA due soonest first "
                                                  "(overdue on top), tickets without a running clock last."})
    cursor = fields.String(
        validate=validate.Length(max=500),
        metadata={"description": "Keyset paging, stable while tickets change: give an empty value for the "
                                 "first page, then each answer's `pagination.nextCursor` until it is null. "
                                 "`page` is ignored; pages only go forward."},
    )


# -- pieces shared by several resources -------------------------------------------------
class PaginationSchema(Schema):
    """Dumps Page.meta(), whose keys are already camelCase."""

    page = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    total = fields.Integer(required=True)
    totalPages = fields.Integer(required=True)  # noqa: N815
    hasNext = fields.Boolean(required=True)  # noqa: N815
    hasPrev = fields.Boolean(required=True)  # noqa: N815
    nextCursor = fields.String(allow_none=True,  # noqa: N815
                               metadata={"description": "Only in cursor mode; null on the last page."})


class PersonRefSchema(CamelCaseSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class RequesterSchema(CamelCaseSchema):
    name = fields.String(required=True, validate=validate.Length(max=120))
    email = fields.String(required=True, validate=validate.Length(max=254), metadata={"format": "email"})


def paged(page: Page) -> dict:
    """A list response: {"data": [...], "pagination": {...}}."""
    return {"data": page.items, "pagination": page.meta()}


# -- tickets ------------------------------------------------------------------------
class TicketSchema(CamelCaseSchema):
    number = fields.Integer(required=True, metadata={"description": "Per-workspace ticket number."})
    subject = fields.String(required=True)
    description = fields.String(required=True, metadata={"description": "Markdown."})
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))
    requester = fields.Nested(RequesterSchema, required=True)
    assignee_id = fields.Integer(allow_none=True, required=True)
    tags = fields.List(fields.String(), required=True, metadata={"description": "Sorted."})
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    # SLA (docs/sla.md): deadlines, when each target was reached and whether in time.
    first_response_due_at = fields.DateTime(allow_none=True, required=True)
    first_response_at = fields.DateTime(allow_none=True, required=True,
                                        metadata={"description": "The first public reply by an agent."})
    first_response_met = fields.Boolean(allow_none=True, required=True)
    resolution_due_at = fields.DateTime(allow_none=True, required=True,
                                        metadata={"description": "Moves out by the business time paused."})
    resolved_at = fields.DateTime(allow_none=True, required=True)
    resolution_met = fields.Boolean(allow_none=True, required=True)
    sla_state = fields.String(required=True, validate=validate.OneOf(SLA_STATES),
                              metadata={"description": "ok, at_risk, breached, paused (pending or on hold), "
                                                       "done (solved or closed) or none (no policy)."})

    def _serialize(self, obj, *, many: bool = False):
        """The fields above describe a ticket (and the OpenAPI document); ticket_json writes it, for one
        ticket and for lists alike: a list of 100 dumped field by field through marshmallow cost more
        than reading it (tests/integration/api/test_ticket_json.py holds the two together)."""
        return [ticket_json(t) for t in obj] if many else ticket_json(obj)


def _iso(value):
    return value.isoformat() if value is not None else None


def ticket_json(t) -> dict:
    """A ticket (ORM Ticket or TicketRow) as the API shows it; TicketSchema documents these keys."""
    return {
        "number": t.number, "subject": t.subject, "description": t.description, "status": t.status,
        "priority": t.priority, "requester": {"name": t.requester_name, "email": t.requester_email},
        "assigneeId": t.assignee_id, "tags": sorted(t.tags),  # sorted, also right after a change
        "createdAt": _iso(t.created_at), "updatedAt": _iso(t.updated_at),
        "firstResponseDueAt": _iso(t.first_response_due_at), "firstResponseAt": _iso(t.first_response_at),
        "firstResponseMet": t.first_response_met, "resolutionDueAt": _iso(t.resolution_due_at),
        "resolvedAt": _iso(t.resolved_at), "resolutionMet": t.resolution_met, "slaState": live_state(t),
    }


class TicketCreateSchema(CamelCaseSchema):
    subject = fields.String(required=True, validate=validate.Length(max=200))
    description = fields.String(required=True, metadata={"description": "Markdown."})
    requester = fields.Nested(RequesterSchema, required=True)
    priority = fields.String(validate=validate.OneOf(PRIORITIES), load_default="normal")
    assignee_id = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=1, max=MAX_ID))
    tags = fields.List(fields.String(validate=validate.Length(max=50)), load_default=list)

    @post_load
    def flatten_requester(self, data, **kwargs):
        requester = data.pop("requester")
        return {**data, "requester_name": requester["name"], "requester_email": requester["email"]}


class TicketUpdateSchema(CamelCaseSchema):
    subject = fields.String(validate=validate.Length(max=200))
    status = fields.String(validate=validate.OneOf(STATUSES))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    assignee_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID),
                                 metadata={"description": "null unassigns."})
    tags = fields.List(fields.String(validate=validate.Length(max=50)),
                       metadata={"description": "Replaces the ticket's tags."})


class TicketPageSchema(Schema):
    data = fields.Nested(TicketSchema, many=True, required=True)  # one dump for the page, not one per item
    pagination = fields.Nested(PaginationSchema, required=True)


# -- comments -----------------------------------------------------------------------
class CommentSchema(CamelCaseSchema):
    id = fields.Integer(required=True)
    body = fields.String(required=True, metadata={"description": "Markdown."})
    public = fields.Boolean(required=True, metadata={"description": "false for an internal note."})
    author = fields.Nested(PersonRefSchema, allow_none=True, required=True)
    created_at = fields.DateTime(required=True)


def authored(comment, author):
    """A comment just written by ``author``: its author is known without loading it again."""
    set_committed_value(comment, "author", author if author is not None and comment.author_id == author.id else None)
    return comment


class CommentCreateSchema(CamelCaseSchema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=50_000))
    public = fields.Boolean(required=True, metadata={"description": "true: a reply the requester sees; "
                                                                    "false: an internal note."})


class CommentPageSchema(Schema):
    data = fields.List(fields.Nested(CommentSchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)


# -- people -------------------------------------------------------------------------
class UserSchema(CamelCaseSchema):
    id = fields.Integer(required=True)
    email = fields.String(required=True, metadata={"format": "email"})
    name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    active = fields.Boolean(required=True)


class UserPageSchema(Schema):
    data = fields.List(fields.Nested(UserSchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)
