"""People of a tenant: adding agents, roles, deactivation, passwords, API tokens."""
from __future__ import annotations

import hashlib
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.models import ApiToken, User
from app.models.base import utcnow
from app.models.tenancy import ROLES
from app.repositories.unit_of_work import UnitOfWork
from app.services.sessions import end_all_sessions
from app.services.validation import Errors, check_length, clean_text, normalise_email

MIN_PASSWORD = 10
PASSWORD_METHOD = "scrypt"  # Werkzeug's memory-hard default parameters
TOKEN_PREFIX = "tkt_"


def hash_password(password: str) -> str:
    # scrypt: Werkzeug's memory-hard default KDF.
    return generate_password_hash(password, method=PASSWORD_METHOD)


def password_matches(user_hash: str, password: str) -> bool:
    return bool(user_hash) and check_password_hash(user_hash, password)


def hash_token(token: str) -> str:
    """Tokens carry 256 random bits, so one SHA-256 is enough and allows lookup by hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def _require_admin(uow: UnitOfWork) -> None:
    user = uow.actor.user
    if uow.actor.type != "system" and (user is None or not user.has_role("admin")):
        raise PermissionDenied("Only admins manage people and tokens.")


def create_user(uow: UnitOfWork, *, email: str, name: str, role: str = "agent", password: str) -> User:
    _require_admin(uow)
    errors = Errors()
    email = normalise_email(errors, "email", email)
    name = clean_text(name)
    check_length(errors, "name", name, required=True, maximum=120)
    if role not in ROLES:
        errors.add("role", f"Must be one of: {', '.join(ROLES)}.")
    if len(password or "") < MIN_PASSWORD:
        errors.add("password", f"Must be at least {MIN_PASSWORD} characters.")
    errors.raise_if_any()
    if uow.users.by_email(email) is not None:
        raise ValidationFailed.one("email", "Someone in this workspace already uses this email.")
    user = uow.users.add(User(email=email, name=name, role=role, active=True,
                              password_hash=hash_password(password), session_nonce=secrets.token_hex(8)))
    uow.session.flush()
    uow.audit("CREATE", "User", user.id, {"after": {"email": email, "name": name, "role": role}})
    return user


def set_role(uow: UnitOfWork, user_id: int, role: str) -> User:
    _require_admin(uow)
    if role not in ROLES:
        raise ValidationFailed.one("role", f"Must be one of: {', '.join(ROLES)}.")
    user = uow.users.get(user_id)
    if user.role == role:
        return user
    if user.role == "admin" and _last_admin(uow, user):
        raise Conflict("A workspace keeps at least one active admin.")
    before = user.role
    user.role = role
    uow.audit("UPDATE", "User", user.id, {"before": {"role": before}, "after": {"role": role}})
    return user


def set_active(uow: UnitOfWork, user_id: int, active: bool) -> User:
    _require_admin(uow)
    user = uow.users.get(user_id)
    if user.active == active:
        return user
    if not active:
        if uow.actor.user is not None and user.id == uow.actor.user.id:
            raise Conflict("You cannot deactivate yourself.")
        if user.role == "admin" and _last_admin(uow, user):
            raise Conflict("A workspace keeps at least one active admin.")
        user.session_nonce = secrets.token_hex(8)  # ends every session
        end_all_sessions(uow, user.id)  # and revokes their server-side records; tokens stop as the user is inactive
    user.active = active
    uow.audit("UPDATE", "User", user.id, {"before": {"active": not active}, "after": {"active": active}})
    return user


def set_password(uow: UnitOfWork, user_id: int, password: str) -> User:
    user = uow.users.get(user_id)
    actor = uow.actor.user
    if uow.actor.type != "system" and (actor is None or (actor.id != user.id and not actor.has_role("admin"))):
        raise PermissionDenied("Only admins change other people's passwords.")
    if len(password or "") < MIN_PASSWORD:
        raise ValidationFailed.one("password", f"Must be at least {MIN_PASSWORD} characters.")
    user.password_hash = hash_password(password)
    user.session_nonce = secrets.token_hex(8)
    end_all_sessions(uow, user.id)  # every signed-in browser of this person; their API tokens keep working
    uow.audit("UPDATE", "User", user.id, {"after": {"password": "changed"}})
    return user


def _last_admin(uow: UnitOfWork, user: User) -> bool:
    admins = [u for u in uow.users.with_role("admin") if u.id != user.id]
    return not admins


def create_token(uow: UnitOfWork, user_id: int, name: str) -> tuple[ApiToken, str]:
    """Returns the row and the token itself: the only time the token is available."""
    _require_admin(uow)
    name = clean_text(name) or "API token"
    if len(name) > 120:
        raise ValidationFailed.one("name", "Must be at most 120 characters.")
    user = uow.users.get(user_id)
    if not user.active:
        raise Conflict("Tokens can only be created for active people.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = uow.tokens.add(ApiToken(user_id=user.id, name=name, token_hash=hash_token(secret),
                                    prefix=secret[:10], created_at=utcnow()))
    uow.session.flush()
    uow.audit("TOKEN_CREATED", "ApiToken", token.id, {"after": {"name": name, "user_id": user.id,
                                                              "prefix": token.prefix}})
    return token, secret


def revoke_token(uow: UnitOfWork, token_id: int, user_id: int | None = None) -> ApiToken:
    """Revoke a token; with ``user_id``, only a token of that person (another's is not found)."""
    _require_admin(uow)
    token = uow.tokens.get(token_id)
    if user_id is not None and token.user_id != user_id:
        raise NotFound("ApiToken", token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        uow.audit("TOKEN_REVOKED", "ApiToken", token.id, {"after": {"name": token.name, "prefix": token.prefix}})
    return token
