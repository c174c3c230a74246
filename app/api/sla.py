"""/api/v1/sla: the SLA dashboard's numbers and the workspace's SLA policies (leads read, admins write)."""
from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from marshmallow import EXCLUDE, Schema, fields, validate

from app.api.auth import TokenBlueprint, api_uow
from app.api.schemas import MAX_ID, CamelCaseSchema, PageQuery, PaginationSchema, camelcase, paged
from app.errors import ValidationFailed
from app.repositories.pagination import Page
from app.services.sla import policies, reports

blp = TokenBlueprint(
    "api_sla", __name__, url_prefix="/api/v1/sla", role="lead", write_role="admin",
    description="Service levels: attainment numbers, and the policies whose targets tickets follow. "
                "Leads and admins read; only admins create, change or delete policies.",
)

POLICY_ID = f"int(min=1, max={MAX_ID})"


def _camel_errors(exc: ValidationFailed) -> ValidationFailed:
    """Service field names (``targets.high.resolution_minutes``) as the API spells them."""
    return ValidationFailed({".".join(camelcase(part) for part in name.split(".")): messages
                             for name, messages in exc.errors.items()})


# -- schemas ------------------------------------------------------------------------------
class TargetSchema(CamelCaseSchema):
    first_response_minutes = fields.Integer(strict=True, metadata={"description": "Minutes to the first response."})
    next_reply_minutes = fields.Integer(strict=True, allow_none=True,
                                        metadata={"description": "Minutes to answer a requester's later message; "
                                                                 "null: no next-reply target."})
    resolution_minutes = fields.Integer(strict=True, metadata={"description": "Minutes to solved, pauses excluded."})


class TargetsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    low = fields.Nested(TargetSchema)
    normal = fields.Nested(TargetSchema)
    high = fields.Nested(TargetSchema)
    urgent = fields.Nested(TargetSchema)


class PolicySchema(CamelCaseSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    is_default = fields.Boolean(required=True, metadata={"description": "Tickets without a matching tag follow it."})
    match_tag = fields.String(allow_none=True, required=True,
                              metadata={"description": "Tickets carrying this tag follow this policy."})
    business_hours = fields.Boolean(required=True, metadata={"description": "false: targets count 24/7."})
    warning_percent = fields.Integer(required=True, metadata={"description": "At risk once this share has elapsed."})
    raise_priority_on_breach = fields.Boolean(required=True)
    targets = fields.Nested(TargetsSchema, required=True, metadata={"description": "Per priority, in minutes."})
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)

    def get_attribute(self, obj, attr, default):
        if attr == "targets":
            return {t.priority: {"first_response_minutes": t.first_response_minutes,
                                 "next_reply_minutes": t.next_reply_minutes,
                                 "resolution_minutes": t.resolution_minutes} for t in obj.targets}
        return super().get_attribute(obj, attr, default)


class PolicyWriteSchema(CamelCaseSchema):
    name = fields.String(validate=validate.Length(max=120))
    is_default = fields.Boolean()
    match_tag = fields.String(allow_none=True, validate=validate.Length(max=50))
    business_hours = fields.Boolean()
    warning_percent = fields.Integer(strict=True, metadata={"description": "1 to 99; 80 when left out."})
    raise_priority_on_breach = fields.Boolean()
    targets = fields.Nested(TargetsSchema, metadata={
        "description": "Per priority: firstResponseMinutes and resolutionMinutes (1 to 525600, resolution not "
                       "shorter than first response), nextReplyMinutes optional. On create every priority is "
                       "required; on update give only what changes."})


class PolicyCreateSchema(PolicyWriteSchema):
    name = fields.String(required=True, validate=validate.Length(max=120))
    targets = fields.Nested(TargetsSchema, required=True)


class PolicyPageSchema(Schema):
    data = fields.List(fields.Nested(PolicySchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)


class SummaryQuery(CamelCaseSchema):
    class Meta:
        unknown = EXCLUDE

    start = fields.String(data_key="from", validate=validate.Length(max=10),
                          metadata={"description": "First day (YYYY-MM-DD, the workspace's time zone); "
                                                   "29 days before `to` by default.", "example": "2025-06-01"})
    end = fields.String(data_key="to", validate=validate.Length(max=10),
                        metadata={"description": "Last day, included; today by default. At most 366 days.",
                                  "example": "2025-06-30"})


class TargetNumbersSchema(Schema):
    met = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={"description": "Targets completed in the range."})
    percent = fields.Float(allow_none=True, required=True)
    medianMinutes = fields.Integer(allow_none=True, required=True)  # noqa: N815
    p90Minutes = fields.Integer(allow_none=True, required=True)  # noqa: N815


class AttainmentSchema(Schema):
    key = fields.Raw(allow_none=True, required=True,
                     metadata={"description": "The priority, the assignee id (null: unassigned), or 0 overall."})
    label = fields.String(required=True)
    firstResponse = fields.Nested(TargetNumbersSchema, required=True)  # noqa: N815
    resolution = fields.Nested(TargetNumbersSchema, required=True)
    breaches = fields.Integer(required=True, metadata={"description": "Breaches escalated in the range."})


class DayNumbersSchema(Schema):
    met = fields.Integer(required=True)
    total = fields.Integer(required=True)
    percent = fields.Float(allow_none=True, required=True)


class DaySchema(Schema):
    day = fields.Date(required=True)
    firstResponse = fields.Nested(DayNumbersSchema, required=True)  # noqa: N815
    resolution = fields.Nested(DayNumbersSchema, required=True)
    breaches = fields.Integer(required=True)


class TicketRefSchema(CamelCaseSchema):
    number = fields.Integer(required=True)
    subject = fields.String(required=True)
    priority = fields.String(required=True)
    assignee_id = fields.Integer(allow_none=True, required=True)
    sla_due_at = fields.DateTime(allow_none=True, required=True)


class TicketsNowSchema(Schema):
    total = fields.Integer(required=True)
    tickets = fields.List(fields.Nested(TicketRefSchema), required=True,
                          metadata={"description": "Up to 50, due soonest first."})


class SummarySchema(Schema):
    start = fields.Date(required=True, data_key="from")
    end = fields.Date(required=True, data_key="to")
    timezone = fields.String(required=True)
    overall = fields.Nested(AttainmentSchema, required=True)
    byPriority = fields.List(fields.Nested(AttainmentSchema), required=True)  # noqa: N815
    byAgent = fields.List(fields.Nested(AttainmentSchema), required=True)  # noqa: N815
    days = fields.List(fields.Nested(DaySchema), required=True)
    atRisk = fields.Nested(TicketsNowSchema, required=True)  # noqa: N815
    breached = fields.Nested(TicketsNowSchema, required=True)


def _numbers(row, name: str) -> dict:
    return {"met": getattr(row, f"{name}_met"), "total": getattr(row, f"{name}_total"),
            "percent": getattr(row, f"{name}_pct"), "medianMinutes": getattr(row, f"{name}_median", None),
            "p90Minutes": getattr(row, f"{name}_p90", None)}


def _attainment(row) -> dict:
    return {"key": row.key, "label": row.label, "firstResponse": _numbers(row, "first_response"),
            "resolution": _numbers(row, "resolution"), "breaches": row.breaches}


def summary_body(s: reports.Summary) -> dict:
    return {
        "start": s.start, "end": s.end, "timezone": s.timezone, "overall": _attainment(s.overall),
        "byPriority": [_attainment(r) for r in s.by_priority], "byAgent": [_attainment(r) for r in s.by_agent],
        "days": [{"day": d.day, "firstResponse": _numbers(d, "first_response"), "resolution": _numbers(d, "resolution"),
                  "breaches": d.breaches} for d in s.days],
        "atRisk": {"total": s.at_risk_total, "tickets": s.at_risk},
        "breached": {"total": s.breached_total, "tickets": s.breached},
    }


# -- resources ------------------------------------------------------------------------------
@blp.route("/summary")
class Summary(MethodView):
    @blp.arguments(SummaryQuery, location="query")
    @blp.response(200, SummarySchema)
    def get(self, args):
        """Attainment, percentiles, breaches and the daily trend for a date range

        The numbers of the /sla page. A target counts in the range when it was completed
        (first response given, ticket solved) in it. Percentiles are nearest-rank.
        """
        uow = api_uow()
        start, end = reports.parse_range(args.get("start"), args.get("end"), uow.tenant.timezone or "UTC")
        return summary_body(reports.sla_summary(uow, start, end))


@blp.route("/policies")
class PolicyCollection(MethodView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, PolicyPageSchema)
    def get(self, args):
        """The workspace's SLA policies, by name"""
        items = policies.list_policies(api_uow())
        page, limit = args["page"], args["limit"]
        return paged(Page(items=items[(page - 1) * limit: page * limit], page=page, limit=limit, total=len(items)))

    @blp.arguments(PolicyCreateSchema)
    @blp.response(201, PolicySchema)
    def post(self, args):
        """Create a policy (admins)"""
        try:
            with api_uow() as uow:
                policy = policies.create_policy(uow, args)
                uow.commit()
        except ValidationFailed as exc:
            raise _camel_errors(exc) from exc
        return policy, {"Location": url_for("api_sla.PolicyItem", policy_id=policy.id)}


@blp.route(f"/policies/<{POLICY_ID}:policy_id>")
class PolicyItem(MethodView):
    @blp.response(200, PolicySchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, policy_id):
        """One policy"""
        return policies.get_policy(api_uow(), policy_id)

    @blp.arguments(PolicyWriteSchema)
    @blp.response(200, PolicySchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="The default policy cannot stop being the default.")
    def patch(self, args, policy_id):
        """Change a policy (admins); open tickets' deadlines are recomputed"""
        try:
            with api_uow() as uow:
                policy = policies.update_policy(uow, policy_id, args)
                uow.commit()
        except ValidationFailed as exc:
            raise _camel_errors(exc) from exc
        return policy

    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="The default policy cannot be deleted.")
    def delete(self, policy_id):
        """Delete a policy (admins); its tickets follow the default policy"""
        with api_uow() as uow:
            policies.delete_policy(uow, policy_id)
            uow.commit()
