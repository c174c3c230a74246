"""/api/v1/notifications: the token user's notifications, marking them read, preferences; following tickets."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest.error_handler import ErrorSchema
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.api.auth import TokenBlueprint, api_uow
from app.api.schemas import MAX_ID, NUMBER, CamelCaseSchema, PageQuery, PaginationSchema
from app.models.notifications import NOTIFICATION_EVENTS
from app.services import notifications

blp = TokenBlueprint(
    "api_notifications", __name__, url_prefix="/api/v1/notifications",
    description="The token user's in-app notifications (assignments, comments on tickets they are assigned to or "
                "follow, SLA alerts), newest first; marking them read; notification preferences per event and "
                "channel (in the app, by email; every event is on by default).",
)
follow_blp = TokenBlueprint(
    "api_ticket_following", __name__, url_prefix="/api/v1/tickets",
    description="Following a ticket: its comments notify the token user as they notify its assignee.",
)
ID = f"int(min=1, max={MAX_ID})"
EVENT_ENUM = list(NOTIFICATION_EVENTS)


# -- schemas ------------------------------------------------------------------------------
class NotificationQuery(PageQuery):
    unread = fields.Boolean(load_default=False, metadata={"description": "true: unread notifications only."})


class NotificationTicketSchema(CamelCaseSchema):
    number = fields.Integer(required=True)
    subject = fields.String(allow_none=True, required=True)


class NotificationSchema(CamelCaseSchema):
    id = fields.Integer(required=True)
    event = fields.String(required=True, metadata={
        "description": f"What happened: {', '.join(EVENT_ENUM)} (or another system event, e.g. webhook.disabled)."})
    event_label = fields.String(required=True, metadata={"description": "The event in words."})
    title = fields.String(required=True)
    ticket = fields.Nested(NotificationTicketSchema, allow_none=True, required=True,
                           metadata={"description": "The ticket it is about (its current subject); null if none."})
    created_at = fields.DateTime(required=True)
    read_at = fields.DateTime(allow_none=True, required=True)
    read = fields.Boolean(required=True)

    def get_attribute(self, obj, attr, default):
        if attr == "event":
            return obj.event_type
        if attr == "ticket":
            return None if obj.ticket_number is None else {"number": obj.ticket_number,
                                                            "subject": obj.ticket_subject}
        return super().get_attribute(obj, attr, default)


class NotificationPageSchema(Schema):
    data = fields.List(fields.Nested(NotificationSchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)
    unreadCount = fields.Integer(required=True, metadata={"description": "Unread notifications in all."})  # noqa: N815


class MarkReadSchema(CamelCaseSchema):
    ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=MAX_ID)),
                      validate=validate.Length(min=1, max=100),
                      metadata={"description": "These notifications (at most 100)."})
    all = fields.Boolean(metadata={"description": "true: every unread notification."})

    @validates_schema
    def one_of(self, data, **kwargs):
        if bool(data.get("ids")) == bool(data.get("all")):
            raise ValidationError("Give either ids or all: true.", "_schema")


class MarkReadResultSchema(CamelCaseSchema):
    updated = fields.Integer(required=True, metadata={"description": "How many were unread and are read now."})
    unread_count = fields.Integer(required=True)


class PreferenceSchema(CamelCaseSchema):
    event = fields.String(required=True, validate=validate.OneOf(EVENT_ENUM), metadata={"enum": EVENT_ENUM})
    label = fields.String(dump_only=True)
    description = fields.String(dump_only=True)
    in_app = fields.Boolean(metadata={"description": "Notify in the app (the bell)."})
    email = fields.Boolean(metadata={"description": "Notify by email."})


class PreferenceListSchema(Schema):
    data = fields.List(fields.Nested(PreferenceSchema), required=True)


class PreferenceUpdateSchema(Schema):
    preferences = fields.List(fields.Nested(PreferenceSchema), required=True,
                              validate=validate.Length(min=1, max=len(EVENT_ENUM) * 2),
                              metadata={"description": "Events to change; a channel left out keeps its value."})


class FollowSchema(CamelCaseSchema):
    following = fields.Boolean(required=True)


def _preference_rows(prefs) -> dict:
    return {"data": [{"event": p.event_type, "label": p.label, "description": p.description, "in_app": p.in_app,
                      "email": p.email} for p in prefs]}


# -- notifications ---------------------------------------------------------------------------
@blp.route("")
class NotificationCollection(MethodView):
    @blp.arguments(NotificationQuery, location="query")
    @blp.response(200, NotificationPageSchema)
    def get(self, args):
        """The token user's notifications, newest first, with the unread count"""
        uow = api_uow()
        page = notifications.list_notifications(uow, page=args["page"], limit=args["limit"],
                                                unread_only=args["unread"])
        return {"data": page.items, "pagination": page.meta(), "unreadCount": notifications.unread_count(uow)}


@blp.route("/read")
class MarkRead(MethodView):
    @blp.arguments(MarkReadSchema)
    @blp.response(200, MarkReadResultSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="One of the ids is not a notification of this user.")
    def post(self, args):
        """Mark notifications read: some by id, or all"""
        with api_uow() as uow:
            if args.get("all"):
                updated = notifications.mark_all_read(uow)
            else:
                updated = notifications.mark_many_read(uow, args["ids"])
            uow.commit()
        return {"updated": updated, "unread_count": notifications.unread_count(api_uow())}


@blp.route(f"/<{ID}:notification_id>/read")
class MarkOneRead(MethodView):
    @blp.response(200, NotificationSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="Not a notification of this user.")
    def post(self, notification_id):
        """Mark one notification read (already read: unchanged)"""
        with api_uow() as uow:
            notification = notifications.mark_read(uow, notification_id)
            uow.commit()
        return notification


@blp.route("/preferences")
class Preferences(MethodView):
    @blp.response(200, PreferenceListSchema)
    def get(self):
        """The token user's preferences: every event, in the app and by email"""
        return _preference_rows(notifications.preferences(api_uow()))

    @blp.arguments(PreferenceUpdateSchema)
    @blp.response(200, PreferenceListSchema)
    def put(self, args):
        """Turn events on or off per channel"""
        changes: dict[str, dict[str, bool]] = {}
        for item in args["preferences"]:
            channels = changes.setdefault(item["event"], {})
            for channel in ("in_app", "email"):
                if channel in item:
                    channels[channel] = item[channel]
        with api_uow() as uow:
            prefs = notifications.update_preferences(uow, changes)
            uow.commit()
        return _preference_rows(prefs)


# -- following a ticket -------------------------------------------------------------------------
@follow_blp.route(f"/<{NUMBER}:number>/follow")
class Following(MethodView):
    @follow_blp.response(200, FollowSchema)
    @follow_blp.alt_response(404, schema=ErrorSchema, description="No such ticket in this workspace.")
    def get(self, number):
        """Whether the token user follows the ticket"""
        return {"following": notifications.follows_ticket(api_uow(), number)}

    @follow_blp.response(200, FollowSchema)
    @follow_blp.alt_response(404, schema=ErrorSchema, description="No such ticket in this workspace.")
    def put(self, number):
        """Follow the ticket (already following: unchanged)"""
        with api_uow() as uow:
            following = notifications.follow_ticket(uow, number)
            uow.commit()
        return {"following": following}

    @follow_blp.response(204)
    @follow_blp.alt_response(404, schema=ErrorSchema, description="No such ticket in this workspace.")
    def delete(self, number):
        """Stop following the ticket (not following: unchanged)"""
        with api_uow() as uow:
            notifications.unfollow_ticket(uow, number)
            uow.commit()
