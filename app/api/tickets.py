"""/api/v1/tickets: the queue, creating, reading and changing tickets by their number."""
from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest.error_handler import ErrorSchema

from app.api.auth import TokenBlueprint, api_user, api_uow
from app.api.schemas import (NUMBER, TicketCreateSchema, TicketPageSchema, TicketQuery, TicketSchema,
                             TicketUpdateSchema, paged)
from app.repositories.tickets import TicketFilter
from app.services import tickets

blp = TokenBlueprint("api_tickets", __name__, url_prefix="/api/v1/tickets",
                     description="Tickets, addressed by their per-workspace number.")


def queue_filter(args: dict) -> TicketFilter:
    """The queue's query parameters as the repository's filter; ``assignee=me`` is the token's user."""
    assignee = args.get("assignee")
    assignee_id = None
    if assignee == "me":
        assignee_id = api_user().id
    elif assignee is not None and assignee.isascii() and assignee.isdigit():
        assignee_id = int(assignee)
    return TicketFilter(
        statuses=args["status"],
        priorities=args["priority"],
        assignee_id=assignee_id,
        unassigned=assignee == "unassigned",
        tag=args.get("tag"),
        text=args.get("q"),
        sort=args["sort"],
    )


@blp.route("")
class TicketCollection(MethodView):
    @blp.arguments(TicketQuery, location="query")
    @blp.response(200, TicketPageSchema)
    def get(self, args):
        """The queue: filtered, sorted, paged by page/limit or by keyset cursor"""
        cursor = args.get("cursor")
        page = tickets.list_tickets(api_uow(), queue_filter(args), page=args["page"], limit=args["limit"],
                                    cursor=cursor or None, use_cursor=cursor is not None,
                                    detail=True)
        return paged(page)

    @blp.arguments(TicketCreateSchema)
    @blp.response(201, TicketSchema, headers={"Location": {"description": "The new ticket's URL.",
                                                           "schema": {"type": "string"}}})
    def post(self, args):
        """Open a ticket"""
        with api_uow() as uow:
            ticket = tickets.create_ticket(uow, **args)
            uow.commit()
        return ticket, {"Location": url_for("api_tickets.TicketItem", number=ticket.number)}


@blp.route(f"/<{NUMBER}:number>")
class TicketItem(MethodView):
    @blp.response(200, TicketSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such ticket in this workspace.")
    def get(self, number):
        """One ticket"""
        return tickets.get_ticket(api_uow(), number)

    @blp.arguments(TicketUpdateSchema)
    @blp.response(200, TicketSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such ticket in this workspace.")
    @blp.alt_response(409, schema=ErrorSchema, description="The ticket's status does not allow this change.")
    def patch(self, args, number):
        """Change status, priority, assignee (null unassigns), tags or subject"""
        with api_uow() as uow:
            ticket = tickets.update_ticket(uow, number, args)
            uow.commit()
        return ticket
