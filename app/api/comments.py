"""/api/v1/tickets/<number>/comments: a ticket's public replies and internal notes."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest.error_handler import ErrorSchema

from app.api.auth import TokenBlueprint, api_user, api_uow
from app.api.schemas import (NUMBER, CommentCreateSchema, CommentPageSchema, CommentSchema, PageQuery, authored,
                             paged)
from app.services import comments

blp = TokenBlueprint("api_comments", __name__, url_prefix="/api/v1/tickets",
                     description="The conversation of a ticket: replies and internal notes, oldest first.")


@blp.route(f"/<{NUMBER}:number>/comments")
class CommentCollection(MethodView):
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, CommentPageSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such ticket in this workspace.")
    def get(self, args, number):
        """The ticket's comments, oldest first"""
        return paged(comments.list_comments(api_uow(), number, page=args["page"], limit=args["limit"]))

    @blp.arguments(CommentCreateSchema)
    @blp.response(201, CommentSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such ticket in this workspace.")
    @blp.alt_response(409, schema=ErrorSchema, description="A closed ticket takes no more comments.")
    def post(self, args, number):
        """Reply to the requester (public) or add an internal note"""
        with api_uow() as uow:
            comment = comments.add_comment(uow, number, body=args["body"], public=args["public"])
            uow.commit()
        return authored(comment, api_user())
