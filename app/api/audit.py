"""/api/v1/audit: the workspace's audit log, filtered and paged, for leads and admins."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from app.api.auth import TokenBlueprint, api_user, api_uow
from app.api.schemas import MAX_ID, CamelCaseSchema, PaginationSchema, camelcase, paged
from app.errors import ValidationFailed
from app.repositories.audit import DEFAULT_LIMIT, MAX_LIMIT
from app.services import audit

blp = TokenBlueprint(
    "api_audit", __name__, url_prefix="/api/v1/audit", role="lead",
    description="The append-only, hash-chained audit log of the workspace: every change, sign-in and export. "
                "Leads and admins only.",
)

MOMENT_HELP = ("An ISO 8601 date (`2024-05-01`) or date-time (`2024-05-01T09:30:00Z`, `2024-05-01T11:30+02:00`). "
               "Dates and date-times without an offset are read in the workspace's time zone.")


class Moment(fields.String):
    """A query parameter holding an ISO date or date-time; loads a ``date`` or ``datetime``."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return audit.parse_moment(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class AuditQuery(CamelCaseSchema):
    class Meta:
        unknown = EXCLUDE

    entity_type = fields.String(validate=validate.Length(max=32),
                                metadata={"description": "Only rows about this kind of entity: "
                                                         + ", ".join(audit.KNOWN_ENTITY_TYPES) + ".",
                                          "example": "Ticket"})
    entity_id = fields.String(validate=validate.Length(max=64),
                              metadata={"description": "Only rows about the entity with this id "
                                                       "(use with entityType)."})
    ticket_number = fields.Integer(validate=validate.Range(min=1, max=MAX_ID),
                                   metadata={"description": "Only rows about this ticket, its comments included."})
    user_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID),
                             metadata={"description": "Only what this person did, signed in or with any of their "
                                                      "API tokens."})
    action = fields.String(validate=validate.Length(max=32),
                           metadata={"description": "Only this action (case-insensitive), e.g. "
                                                    + ", ".join(audit.KNOWN_ACTIONS) + "."})
    start_date = Moment(metadata={"description": "Rows written at or after this moment. " + MOMENT_HELP,
                                  "example": "2024-05-01"})
    end_date = Moment(metadata={"description": "Rows written before this moment; a date includes that whole day. "
                                               "Must be after startDate. " + MOMENT_HELP,
                                "example": "2024-05-31"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1),
                          metadata={"description": "Page number, from 1."})
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT),
                           metadata={"description": f"Rows per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})."})


class ActorSchema(Schema):
    type = fields.String(required=True, metadata={"description": "user, token, system or anonymous."})
    id = fields.Integer(allow_none=True, required=True,
                        metadata={"description": "The user id for a user, the token id for a token, else null."})
    label = fields.String(required=True, metadata={"description": "Who it was, as recorded then (email, token prefix, "
                                                                  "the email tried at a failed sign-in)."})


class AuditEntrySchema(CamelCaseSchema):
    id = fields.Integer(required=True)
    seq = fields.Integer(required=True, metadata={"description": "Position in the workspace's hash chain, from 1."})
    created_at = fields.DateTime(required=True)
    actor = fields.Nested(ActorSchema, required=True)
    action = fields.String(required=True, metadata={"example": "UPDATE"})
    entity_type = fields.String(allow_none=True, required=True, metadata={"example": "Ticket"})
    entity_id = fields.String(allow_none=True, required=True)
    ticket_number = fields.Integer(allow_none=True, required=True)
    changes = fields.Dict(required=True, metadata={"description": "What changed, usually "
                                                                  '`{"before": {...}, "after": {...}}`.'})
    ip_address = fields.String(allow_none=True, required=True)
    user_agent = fields.String(allow_none=True, required=True)
    request_id = fields.String(allow_none=True, required=True)

    def get_attribute(self, obj, attr, default):
        if attr == "actor":
            return {"type": obj.actor_type, "id": obj.actor_id, "label": obj.actor_label}
        return super().get_attribute(obj, attr, default)


class AuditPageSchema(Schema):
    data = fields.List(fields.Nested(AuditEntrySchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)


@blp.route("")
class AuditCollection(MethodView):
    @blp.arguments(AuditQuery, location="query")
    @blp.response(200, AuditPageSchema)
    def get(self, args):
        """Audit rows, newest first

        Filters combine with AND. A malformed date, or an endDate not after startDate,
        answers 422 with a message per parameter.
        """
        page, limit = args.pop("page"), args.pop("limit")
        try:
            filters = audit.build_filter(api_user().tenant, user_id=args.pop("user_id", None),
                                         start=args.pop("start_date", None), end=args.pop("end_date", None), **args)
        except ValidationFailed as exc:
            raise ValidationFailed({camelcase(name): messages for name, messages in exc.errors.items()}) from exc
        return paged(audit.search_audit(api_uow(), filters, page=page, limit=limit))
