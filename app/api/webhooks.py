"""/api/v1/webhooks: endpoints, their signing secrets and delivery log, for admins."""
from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from app.api.auth import TokenBlueprint, api_uow
from app.api.schemas import MAX_ID, CamelCaseSchema, PageQuery, PaginationSchema, paged
from app.models.webhooks import ALL_EVENTS, DELIVERY_STATUSES, EVENT_TYPES
from app.services.webhooks import deliveries, endpoints

blp = TokenBlueprint(
    "api_webhooks", __name__, url_prefix="/api/v1/webhooks", role="admin",
    description="Webhook endpoints: signed deliveries (Standard Webhooks) of ticket events, retried with backoff, "
                "then kept as dead letters. The signing secret is in the answers to creation and rotation only. "
                "Admins only.",
)
ID = f"int(min=1, max={MAX_ID})"
EVENT_ENUM = [ALL_EVENTS, *EVENT_TYPES]
EVENTS_HELP = f"Event types to receive: any of {', '.join(EVENT_TYPES)}; or `[\"*\"]` for all, later ones included."


# -- schemas ------------------------------------------------------------------------------
class WebhookSchema(CamelCaseSchema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(metadata={"enum": EVENT_ENUM}), required=True,
                         metadata={"description": EVENTS_HELP})
    description = fields.String(required=True)
    active = fields.Boolean(required=True)
    disabled_at = fields.DateTime(allow_none=True, required=True,
                                  metadata={"description": "When it was turned off (by an admin, a 410 Gone, or "
                                                           "failing too long)."})
    disabled_reason = fields.String(allow_none=True, required=True)
    previous_secret_expires_at = fields.DateTime(
        allow_none=True, required=True,
        metadata={"description": "After a rotation, the previous secret also signs until then."})
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class WebhookWithSecretSchema(WebhookSchema):
    secret = fields.String(required=True, metadata={
        "description": "The signing secret (`whsec_` + base64). Only in this answer: store it now.",
        "example": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})


class WebhookCreateSchema(CamelCaseSchema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2048),
                        metadata={"description": "http(s) URL of a public address; private, loopback, link-local "
                                                 "and metadata addresses are refused (422)."})
    events = fields.List(fields.String(validate=validate.Length(max=64), metadata={"enum": EVENT_ENUM}),
                         required=True, validate=validate.Length(min=1, max=len(EVENT_ENUM)),
                         metadata={"description": EVENTS_HELP})
    description = fields.String(load_default="", validate=validate.Length(max=500))
    active = fields.Boolean(load_default=True)


class WebhookUpdateSchema(CamelCaseSchema):
    url = fields.String(validate=validate.Length(min=1, max=2048))
    events = fields.List(fields.String(validate=validate.Length(max=64), metadata={"enum": EVENT_ENUM}),
                         validate=validate.Length(min=1, max=len(EVENT_ENUM)), metadata={"description": EVENTS_HELP})
    description = fields.String(validate=validate.Length(max=500))
    active = fields.Boolean(metadata={"description": "true re-enables a disabled endpoint."})


class WebhookPageSchema(Schema):
    data = fields.List(fields.Nested(WebhookSchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)


class DeliveryQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES),
                           metadata={"description": "Only deliveries in this status (`dead`: the dead-letter queue)."})
    event = fields.String(validate=validate.Length(max=64), metadata={"description": "Only this event type."})


class DeliverySchema(CamelCaseSchema):
    id = fields.Integer(required=True)
    event_id = fields.String(required=True, metadata={"description": "The webhook-id header: the same on every "
                                                                     "attempt, the receiver's idempotency key."})
    event_type = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(DELIVERY_STATUSES))
    attempt_count = fields.Integer(required=True)
    max_attempts = fields.Integer(required=True)
    next_attempt_at = fields.DateTime(allow_none=True, required=True)
    last_attempt_at = fields.DateTime(allow_none=True, required=True)
    last_status_code = fields.Integer(allow_none=True, required=True)
    last_error = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    completed_at = fields.DateTime(allow_none=True, required=True)


class AttemptSchema(CamelCaseSchema):
    number = fields.Integer(required=True)
    started_at = fields.DateTime(required=True)
    succeeded = fields.Boolean(required=True)
    status_code = fields.Integer(allow_none=True, required=True)
    latency_ms = fields.Integer(allow_none=True, required=True)
    response_body = fields.String(allow_none=True, required=True, metadata={"description": "The first 2 KB."})
    error = fields.String(allow_none=True, required=True)
    request_headers = fields.Dict(keys=fields.String(), values=fields.String(), required=True)


class DeliveryDetailSchema(DeliverySchema):
    payload = fields.Dict(required=True, metadata={"description": "The JSON body sent."})
    attempts = fields.List(fields.Nested(AttemptSchema), required=True)


class DeliveryPageSchema(Schema):
    data = fields.List(fields.Nested(DeliverySchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)


# -- resources ------------------------------------------------------------------------------
@blp.route("")
class WebhookCollection(MethodView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, WebhookPageSchema)
    def get(self, args):
        """The workspace's webhook endpoints, oldest first"""
        return paged(endpoints.list_endpoints(api_uow(), page=args["page"], limit=args["limit"]))

    @blp.arguments(WebhookCreateSchema)
    @blp.response(201, WebhookWithSecretSchema)
    def post(self, args):
        """Add an endpoint; the answer carries its signing secret, once"""
        with api_uow() as uow:
            endpoint, secret = endpoints.create_endpoint(uow, **args)
            uow.commit()
        return _with_secret(endpoint, secret), {"Location": url_for("api_webhooks.WebhookItem", webhook_id=endpoint.id)}


@blp.route(f"/<{ID}:webhook_id>")
class WebhookItem(MethodView):
    @blp.response(200, WebhookSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, webhook_id):
        """One endpoint (never its secret)"""
        return endpoints.get_endpoint(api_uow(), webhook_id)

    @blp.arguments(WebhookUpdateSchema)
    @blp.response(200, WebhookSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def patch(self, args, webhook_id):
        """Change the URL, events, description or active flag"""
        with api_uow() as uow:
            endpoint = endpoints.update_endpoint(uow, webhook_id, args)
            uow.commit()
        return endpoint

    @blp.response(204)
    @blp.alt_response(404, response="NOT_FOUND")
    def delete(self, webhook_id):
        """Delete an endpoint with its delivery log"""
        with api_uow() as uow:
            endpoints.delete_endpoint(uow, webhook_id)
            uow.commit()


@blp.route(f"/<{ID}:webhook_id>/rotate-secret")
class WebhookSecret(MethodView):
    @blp.response(200, WebhookWithSecretSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, webhook_id):
        """A new signing secret, in this answer only; the previous one also signs during the overlap"""
        with api_uow() as uow:
            endpoint, secret = endpoints.rotate_secret(uow, webhook_id)
            uow.commit()
        return _with_secret(endpoint, secret)


@blp.route(f"/<{ID}:webhook_id>/test")
class WebhookTest(MethodView):
    @blp.response(202, DeliverySchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="The endpoint is inactive.")
    def post(self, webhook_id):
        """Send a `webhook.test` event to this endpoint"""
        with api_uow() as uow:
            row = deliveries.send_test_event(uow, webhook_id)
            uow.commit()
        return row


@blp.route(f"/<{ID}:webhook_id>/deliveries")
class DeliveryCollection(MethodView):
    @blp.arguments(DeliveryQuery, location="query")
    @blp.response(200, DeliveryPageSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, args, webhook_id):
        """The endpoint's deliveries, newest first, filtered by status and event"""
        return paged(deliveries.list_deliveries(api_uow(), webhook_id, status=args.get("status"),
                                                event_type=args.get("event"), page=args["page"],
                                                limit=args["limit"]))


@blp.route(f"/<{ID}:webhook_id>/deliveries/<{ID}:delivery_id>")
class DeliveryItem(MethodView):
    @blp.response(200, DeliveryDetailSchema)
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, webhook_id, delivery_id):
        """One delivery with its body and every attempt"""
        row, attempts = deliveries.get_delivery(api_uow(), webhook_id, delivery_id)
        return _with_attempts(row, attempts)


@blp.route(f"/<{ID}:webhook_id>/deliveries/<{ID}:delivery_id>/retry")
class DeliveryRetry(MethodView):
    @blp.response(202, DeliverySchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="Not a failed or dead delivery, or the endpoint is "
                                                            "inactive.")
    def post(self, webhook_id, delivery_id):
        """Send a failed or dead delivery again now, with a fresh attempt budget"""
        with api_uow() as uow:
            row = deliveries.retry_delivery(uow, webhook_id, delivery_id)
            uow.commit()
        return row


def _with_secret(endpoint, secret: str) -> dict:
    return {**_plain(endpoint), "secret": secret}


def _plain(endpoint) -> dict:
    return {name: getattr(endpoint, name) for name in (
        "id", "url", "events", "description", "active", "disabled_at", "disabled_reason",
        "previous_secret_expires_at", "created_at", "updated_at")}


def _with_attempts(row, attempts) -> dict:
    fields_ = ("id", "event_id", "event_type", "status", "attempt_count", "max_attempts", "next_attempt_at",
               "last_attempt_at", "last_status_code", "last_error", "created_at", "completed_at", "payload")
    return {**{name: getattr(row, name) for name in fields_}, "attempts": attempts}
