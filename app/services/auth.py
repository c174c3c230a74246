"""Sign-in with a password, sessions, and bearer tokens."""
from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.models import ApiToken, User
from app.models.base import utcnow
from app.repositories import tenancy as accounts
from app.repositories.unit_of_work import Actor, UnitOfWork
from app.services.people import hash_password, hash_token, password_matches

# Checked when no account matches, so a missing email costs as much time as a wrong password.
_DUMMY_HASH = hash_password("not-a-real-password")
TOKEN_TOUCH_INTERVAL = timedelta(seconds=60)


class AmbiguousLogin(Exception):
    """The email and password fit accounts in several workspaces: ask which one."""


def authenticate(email: str, password: str, workspace: str | None, actor: Actor) -> User | None:
    """The user these credentials belong to, or None. Both outcomes are audited."""
    session = db.session
    candidates = [u for u in accounts.login_candidates(session, email or "") if u.tenant.slug == workspace or not workspace]
    matches = [u for u in candidates if password_matches(u.password_hash, password or "")]
    if not candidates:
        password_matches(_DUMMY_HASH, password or "x")
    if len(matches) > 1:
        raise AmbiguousLogin()
    user = matches[0] if matches else None
    if user is not None and user.active:
        with UnitOfWork(user.tenant, _as_user(actor, user)) as uow:
            user.last_login_at = utcnow()
            uow.audit("LOGIN", "User", user.id)
            uow.commit()
        return user
    for candidate in candidates:
        with UnitOfWork(candidate.tenant, Actor(type="anonymous", id=None, label=(email or "")[:200],
                                                 ip_address=actor.ip_address, user_agent=actor.user_agent,
                                                 request_id=actor.request_id)) as uow:
            reason = "inactive" if user is candidate else "bad credentials"
            uow.audit("LOGIN_FAILED", "User", candidate.id, {"attempted_email": email, "reason": reason})
            uow.commit()
    return None


def record_logout(user: User, actor: Actor) -> None:
    with UnitOfWork(user.tenant, actor) as uow:
        uow.audit("LOGOUT", "User", user.id)
        uow.commit()


def user_for_session_id(session_id: str) -> User | None:
    """flask-login's loader: "<user id>:<nonce>"; a rotated nonce ends the session."""
    try:
        user_id, nonce = session_id.split(":", 1)
        user = accounts.user_for_session(db.session, int(user_id))
    except (ValueError, TypeError):
        return None
    if user is None or not user.active or user.session_nonce != nonce:
        return None
    return user


def token_from_header(secret: str) -> ApiToken | None:
    """The active token for this secret whose user is active, or None."""
    if not secret:
        return None
    token = accounts.token_by_hash(db.session, hash_token(secret))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        accounts.touch_token(db.session, token.id)
    return token


def _as_user(actor: Actor, user: User) -> Actor:
    return Actor(type="user", id=user.id, label=user.email, user=user, ip_address=actor.ip_address,
                 user_agent=actor.user_agent, request_id=actor.request_id)
