"""How service validation errors look in the API: camelCase field names."""
from __future__ import annotations

FIELD_NAMES = {
    "assignee_id": "assigneeId",
    "requester_name": "requester.name",
    "requester_email": "requester.email",
}


def api_field_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    return {FIELD_NAMES.get(name, name): messages for name, messages in errors.items()}
