"""/api/v1/search/tickets and /api/v1/search/comments: full-text search, best match first.

Highlights are HTML: every character of the text is escaped and matched words
are wrapped in <mark>, so a client may insert them as HTML as they are.
"""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import EXCLUDE, ValidationError, fields, validate, validates_schema

from app.api.auth import TokenBlueprint, api_user, api_uow
from app.api.schemas import CamelCaseSchema, PageQuery, PaginationSchema, Repeatable, _choice, paged
from app.models import PRIORITIES, STATUSES
from app.services import search
from app.services.search.terms import MAX_QUERY

blp = TokenBlueprint("api_search", __name__, url_prefix="/api/v1/search",
                     description="Full-text search of tickets and comments: relevance ranking, prefix matching "
                                 "of the last word, highlighted snippets, filters. Only your workspace is searched.")


class SearchArgs(PageQuery):
    class Meta:
        unknown = EXCLUDE

    q = fields.String(required=True, validate=validate.Length(min=1, max=MAX_QUERY),
                      metadata={"description": f"The words to find (1-{MAX_QUERY} characters). Every word must "
                                               "match; the last one also as a prefix. Punctuation and search "
                                               "operators are ignored."})
    status = Repeatable(fields.String(metadata={"enum": list(STATUSES)}), load_default=list,
                        validate=_choice(STATUSES, "status"),
                        metadata={"description": "Ticket status (of the comment's ticket); repeat or separate "
                                                 "with commas."})
    priority = Repeatable(fields.String(metadata={"enum": list(PRIORITIES)}), load_default=list,
                          validate=_choice(PRIORITIES, "priority"),
                          metadata={"description": "Ticket priority; repeat or separate with commas."})
    assignee = fields.String(
        validate=validate.Regexp(r"^(\d{1,9}|me|unassigned)$", error="Use a user id, 'me' or 'unassigned'."),
        metadata={"description": "The ticket's assignee: a user id, `me` or `unassigned`."})
    created_from = fields.Date(metadata={"description": "Created on or after this day (workspace time zone)."})
    created_to = fields.Date(metadata={"description": "Created on or before this day (workspace time zone)."})

    @validates_schema
    def check_dates(self, data, **kwargs):
        if data.get("created_from") and data.get("created_to") and data["created_from"] > data["created_to"]:
            raise ValidationError("Must not be before createdFrom.", "createdTo")


class CommentSearchArgs(SearchArgs):
    visibility = fields.String(validate=validate.OneOf(search.VISIBILITY),
                               metadata={"description": "`public` replies or `internal` notes only."})


class TicketHighlightSchema(CamelCaseSchema):
    subject = fields.String(required=True, metadata={"description": "HTML: escaped, matches in <mark>."})
    snippet = fields.String(required=True, metadata={"description": "HTML: part of the description around "
                                                                    "the first match, escaped, matches in <mark>."})
    requester_name = fields.String(required=True, metadata={"description": "HTML."})
    requester_email = fields.String(required=True, metadata={"description": "HTML."})


class TicketHitSchema(CamelCaseSchema):
    number = fields.Integer(required=True)
    subject = fields.String(required=True, attribute="subject_text", metadata={"description": "Plain text."})
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))
    assignee_id = fields.Integer(required=True, allow_none=True)
    tags = fields.List(fields.String(), required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    score = fields.Float(required=True, allow_none=True,
                         metadata={"description": "Relevance, higher is better; comparable within one answer only. "
                                                  "null past the ranked window of a very common query."})
    highlights = fields.Method("ticket_highlights", required=True,
                               metadata={"type": "object", "description": "Highlighted HTML of the matched fields."})

    def ticket_highlights(self, hit):
        return TicketHighlightSchema().dump({"subject": str(hit.subject), "snippet": str(hit.snippet),
                                             "requester_name": str(hit.requester_name),
                                             "requester_email": str(hit.requester_email)})


class CommentHitSchema(CamelCaseSchema):
    id = fields.Integer(required=True)
    ticket_number = fields.Integer(required=True)
    ticket_subject = fields.String(required=True)
    author = fields.String(required=True, attribute="author_name")
    public = fields.Boolean(required=True, metadata={"description": "false for an internal note."})
    created_at = fields.DateTime(required=True)
    score = fields.Float(required=True, allow_none=True)
    highlights = fields.Method("comment_highlights", required=True,
                               metadata={"type": "object", "description": "`snippet` and `author`: HTML, "
                                                                          "escaped, matches in <mark>."})

    def comment_highlights(self, hit):
        return {"snippet": str(hit.snippet), "author": str(hit.author)}


class TicketHitPageSchema(CamelCaseSchema):
    data = fields.List(fields.Nested(TicketHitSchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)


class CommentHitPageSchema(CamelCaseSchema):
    data = fields.List(fields.Nested(CommentHitSchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)


def _query(args: dict) -> search.SearchQuery:
    assignee = args.get("assignee")
    return search.SearchQuery(
        text=args["q"], statuses=args["status"], priorities=args["priority"],
        assignee_id=api_user().id if assignee == "me" else int(assignee) if assignee and assignee.isdigit() else None,
        unassigned=assignee == "unassigned", created_from=args.get("created_from"),
        created_to=args.get("created_to"), visibility=args.get("visibility"), page=args["page"], limit=args["limit"],
    )


@blp.route("/tickets")
class TicketSearch(MethodView):
    @blp.arguments(SearchArgs, location="query")
    @blp.response(200, TicketHitPageSchema)
    def get(self, args):
        """Search tickets: number, subject, description, requester, tags"""
        return paged(search.search_tickets(api_uow(), _query(args)))


@blp.route("/comments")
class CommentSearch(MethodView):
    @blp.arguments(CommentSearchArgs, location="query")
    @blp.response(200, CommentHitPageSchema)
    def get(self, args):
        """Search comments: replies and internal notes, by body and author"""
        return paged(search.search_comments(api_uow(), _query(args)))
