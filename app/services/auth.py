"""Sign-in with a password, sessions, and bearer tokens."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from app.extensions import db
from app.models import ApiToken, User
from app.models.base import utcnow
from app.repositories import tenancy as accounts
from app.repositories.unit_of_work import Actor, UnitOfWork
from app.services import sessions, throttling
from app.services.people import hash_password, hash_token, password_matches
from app.services.throttling import LoginThrottled  # noqa: F401  (raised by authenticate)

# Checked when no account matches, so a missing email costs as much time as a wrong password.
_DUMMY_HASH = hash_password("not-a-real-password")
TOKEN_TOUCH_INTERVAL = timedelta(seconds=60)


class AmbiguousLogin(Exception):
    """The email and password fit accounts in several workspaces: ask which one."""


@dataclass(frozen=True)
class SignIn:
    """A successful sign-in: the user, and the key of their new server-side session (for the cookie only)."""

    user: User
    session_key: str


def authenticate(email: str, password: str, workspace: str | None, actor: Actor) -> SignIn | None:
    """The user these credentials belong to with a new session, or None. Both outcomes are audited.

    Raises LoginThrottled, before any password is checked, when the email or the
    address has failed too often (services/throttling.py).
    """
    throttling.check(email, actor)
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
            session_key = sessions.start_session(uow, user, ip=actor.ip_address, user_agent=actor.user_agent)
            throttling.clear_failures(uow.session, email)
            uow.audit("LOGIN", "User", user.id)
            uow.commit()
        return SignIn(user=user, session_key=session_key)
    for candidate in candidates:
        with UnitOfWork(candidate.tenant, Actor(type="anonymous", id=None, label=(email or "")[:200],
                                                 ip_address=actor.ip_address, user_agent=actor.user_agent,
                                                 request_id=actor.request_id)) as uow:
            reason = "inactive" if user is candidate else "bad credentials"
            uow.audit("LOGIN_FAILED", "User", candidate.id, {"attempted_email": email, "reason": reason})
            uow.commit()
    throttling.record_failure(email, actor)
    return None


def record_logout(user: User, actor: Actor, session_key: str | None = None) -> None:
    """Sign-out: the session's row is revoked, so its cookie no longer signs anyone in."""
    with UnitOfWork(user.tenant, actor) as uow:
        sessions.end_session(uow, user.id, session_key)
        uow.audit("LOGOUT", "User", user.id)
        uow.commit()


def user_for_session_id(session_id: str, session_key: str | None = None) -> User | None:
    """flask-login's loader: "<user id>:<nonce>" plus the server-side session's key.

    Signed in only while the session row is live (not revoked, not expired) and
    belongs to that user, the user is active and the nonce is current.
    """
    try:
        user_id, nonce = session_id.split(":", 1)
        user_id = int(user_id)
    except (ValueError, TypeError, AttributeError):
        return None
    record = sessions.live_session(session_key)
    if record is None or record.user_id != user_id:
        return None
    user = record.user
    if not user.active or user.session_nonce != nonce:
        return None
    sessions.touch(record)
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
