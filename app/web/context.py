"""What a page or API request knows about who is acting: the tenant, the actor, the request id."""
from __future__ import annotations

import uuid

from flask import g, request
from flask_login import current_user

from app.repositories.unit_of_work import Actor, UnitOfWork


def request_id() -> str:
    if "request_id" not in g:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
    return g.request_id


def client_ip() -> str | None:
    return request.remote_addr


def anonymous_actor() -> Actor:
    return Actor(type="anonymous", id=None, label="anonymous", ip_address=client_ip(),
                 user_agent=request.user_agent.string, request_id=request_id())


def user_actor(user) -> Actor:
    return Actor(type="user", id=user.id, label=user.email, user=user, ip_address=client_ip(),
                 user_agent=request.user_agent.string, request_id=request_id())


def token_actor(token) -> Actor:
    return Actor(type="token", id=token.id, label=f"{token.user.email} (token {token.prefix}…)", user=token.user,
                 ip_address=client_ip(), user_agent=request.user_agent.string, request_id=request_id())


def page_uow() -> UnitOfWork:
    """A unit of work for the signed-in user of this page request."""
    return UnitOfWork(current_user.tenant, user_actor(current_user))
