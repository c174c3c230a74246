"""How service validation errors look in the API.

Field names are camelCase and dotted service names nest like marshmallow's own
errors, so a client sees one shape whether the schema or a service refused a
field: ``{"requester": {"email": ["Not a valid email address."]}}``.
"""
from __future__ import annotations

from flask import request

FIELD_NAMES = {
    "assignee_id": "assigneeId",
    "requester_name": "requester.name",
    "requester_email": "requester.email",
}


def api_field_errors(errors: dict[str, list[str]]) -> dict:
    out: dict = {}
    for name, messages in errors.items():
        *parents, leaf = FIELD_NAMES.get(name, name).split(".")
        node = out
        for parent in parents:
            node = node.setdefault(parent, {})
        node.setdefault(leaf, []).extend(messages)
    return out


def validation_failed(error):
    """A service's ValidationFailed, under the location the input came from.

    app.web.errors renders every service validation error under "json"; input
    of a GET comes from the query string, like webargs says for schema errors.
    """
    from app.web.errors import handle_domain_error

    body, status = handle_domain_error(error)
    if request.method in ("GET", "HEAD") and "errors" in body:
        body["errors"] = {"query": body["errors"].pop("json")}
    return body, status
