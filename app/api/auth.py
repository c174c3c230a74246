"""Bearer tokens for the API: every operation of a TokenBlueprint needs one.

``Authorization: Bearer <token>`` is checked before the view runs (so a request
without a valid token gets 401 before its input is even parsed), and every
operation is documented with the ``bearerAuth`` security scheme and its 401/403
responses. Resources then use ``api_user()`` and ``api_uow()``.
"""
from __future__ import annotations

from flask import g, request
from flask_smorest import Blueprint, abort

from app.api.errors import validation_failed
from app.errors import ValidationFailed
from app.models import ApiToken, User
from app.models.tenancy import ROLES
from app.repositories.unit_of_work import UnitOfWork
from app.services.auth import token_from_header
from app.web.context import token_actor

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="ticketry"'}
SECURITY = [{"bearerAuth": []}]


def bearer_secret() -> str:
    scheme, _, secret = request.headers.get("Authorization", "").strip().partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


def authenticate(role: str) -> None:
    """401 without a valid token, 403 when its user's role is below ``role``."""
    secret = bearer_secret()
    if not secret:
        abort(401, message="Send an API token: 'Authorization: Bearer <token>'.", headers=CHALLENGE)
    token = token_from_header(secret)
    if token is None:
        abort(401, message="Invalid, revoked or inactive API token.", headers=CHALLENGE)
    if not token.user.has_role(role):
        abort(403, message=f"This needs the {role} role.")
    g.api_token = token


def api_token() -> ApiToken:
    return g.api_token


def api_user() -> User:
    return g.api_token.user


def api_uow() -> UnitOfWork:
    """The unit of work of this request: the token's tenant, acting as the token.

    Reads use it as is (``api_uow().tickets...``); changes use
    ``with api_uow() as uow: ...; uow.commit()``, which starts a write transaction.
    """
    token = api_token()
    return UnitOfWork(token.user.tenant, token_actor(token))


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class TokenBlueprint(Blueprint):
    """An API blueprint whose every operation needs a bearer token of at least ``role``, and its
    changes (POST, PUT, PATCH, DELETE) one of at least ``write_role`` (``role`` by default).

    Both are checked before the input is parsed: a role below answers 403 whatever the body.
    Service validation errors of its views answer 422 under the input's location.
    """

    def __init__(self, *args, role: str = "agent", write_role: str | None = None, **kwargs):
        for name in (role, write_role or role):
            if name not in ROLES:
                raise ValueError(f"unknown role {name!r}")
        super().__init__(*args, **kwargs)
        self.role = role
        self.write_role = write_role or role
        self.before_request(lambda: authenticate(self.role if request.method in SAFE_METHODS else self.write_role))
        self.register_error_handler(ValidationFailed, validation_failed)
        self._prepare_doc_cbks.append(self._prepare_auth_doc)

    def arguments(self, schema, *args, **kwargs):
        """As flask-smorest's, but a schema class is made into its instance once, here: given the class,
        webargs builds a new instance on every request (0.1 ms of the ticket list's 3)."""
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)

    @staticmethod
    def _prepare_auth_doc(doc, doc_info, **kwargs):
        doc["security"] = SECURITY
        responses = doc.setdefault("responses", {})
        responses.setdefault(401, "UNAUTHORIZED")
        responses.setdefault(403, "FORBIDDEN")
        if "requestBody" in doc:  # a body that is not JSON at all: webargs answers 400 "Invalid JSON body."
            responses.setdefault(400, "BAD_REQUEST")
        return doc
