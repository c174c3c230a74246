"""Domain exceptions. Services raise them; pages and API turn them into responses."""
from __future__ import annotations


class DomainError(Exception):
    """Base of every rule the helpdesk enforces."""


class NotFound(DomainError):
    """Missing, or owned by another tenant: the two are never told apart (404)."""

    def __init__(self, entity: str, key: object = None):
        super().__init__(f"{entity} not found")
        self.entity = entity
        self.key = key


class TicketNotFound(NotFound):
    def __init__(self, number: object = None):
        super().__init__("Ticket", number)


class ValidationFailed(DomainError):
    """Input that breaks a rule, with messages per field (422 / inline form errors)."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors

    @classmethod
    def one(cls, field: str, message: str) -> "ValidationFailed":
        return cls({field: [message]})


class InvalidTransition(DomainError):
    """A status change or action the ticket's state does not allow (409)."""


class Conflict(DomainError):
    """The request clashes with existing data (409)."""


class PermissionDenied(DomainError):
    """The actor's role is not enough (403)."""
