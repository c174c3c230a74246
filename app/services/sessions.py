"""Server-side sign-in sessions.

Sign-in starts one: a random key goes into the (signed) session cookie, its SHA-256
is the row's id. Every page request looks the row up; a missing, revoked or expired
row means signed out, whatever the cookie says — so a cookie copied before sign-out
is worthless after it. Sign-out revokes the row; deactivation and password changes
revoke every row of the person (API tokens are separate and untouched).

A session lasts SESSION_LIFETIME_HOURS from sign-in, however busy: the cookie is
not re-sent with every answer (SESSION_REFRESH_EACH_REQUEST is off), so an answer
still in flight when a browser drops its cookie cannot bring the cookie back.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from flask import current_app, has_app_context
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import User, UserSession
from app.models.base import utcnow
from app.repositories import security as records
from app.repositories.sqlite import begin_write
from app.repositories.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

KEY_BYTES = 32
DEFAULT_LIFETIME_HOURS = 12
# last_seen_at is written at most this often per session: a page view is not a write.
TOUCH_INTERVAL = timedelta(seconds=60)


def hash_key(key: str) -> str:
    """Keys carry 256 random bits: one SHA-256 is enough and allows lookup by hash."""
    return hashlib.sha256(key.encode()).hexdigest()


def lifetime() -> timedelta:
    """How long a session lives after sign-in (SESSION_LIFETIME_HOURS)."""
    hours = current_app.config.get("SESSION_LIFETIME_HOURS", DEFAULT_LIFETIME_HOURS) if has_app_context() \
        else DEFAULT_LIFETIME_HOURS
    return timedelta(hours=float(hours))


def start_session(uow: UnitOfWork, user: User, *, ip: str | None, user_agent: str | None) -> str:
    """A new session of ``user`` in the unit of work's transaction; returns its key (for the cookie only)."""
    key = secrets.token_urlsafe(KEY_BYTES)
    now = utcnow()
    records.SessionRepository(uow.session, uow.tenant_id).add(UserSession(
        id=hash_key(key), user_id=user.id, created_at=now, last_seen_at=now,
        ip=(ip or "")[:64] or None, user_agent=(user_agent or "")[:400] or None))
    records.prune_sessions(uow.session, now - lifetime())
    return key


def end_session(uow: UnitOfWork, user_id: int, key: str | None) -> bool:
    """Revoke the session with this key (sign-out); False when there was none to revoke."""
    if not key:
        return False
    return records.SessionRepository(uow.session, uow.tenant_id).revoke(hash_key(key), user_id) > 0


def end_all_sessions(uow: UnitOfWork, user_id: int) -> int:
    """Revoke every session of this person (deactivation, password change); how many were live."""
    return records.SessionRepository(uow.session, uow.tenant_id).revoke_for_user(user_id)


def live_session(key: str | None) -> UserSession | None:
    """The session of this key if it may still be used: it exists, is not revoked and has not expired."""
    if not key or not isinstance(key, str):
        return None
    record = records.session_by_hash(db.session, hash_key(key))
    if record is None or record.revoked_at is not None:
        return None
    if record.created_at < utcnow() - lifetime():
        return None
    return record


def touch(record: UserSession) -> None:
    """Record that the session was used, at most once per TOUCH_INTERVAL (not a change to audit)."""
    now = utcnow()
    if now - record.last_seen_at < TOUCH_INTERVAL:
        return
    try:
        begin_write(db.session)
        records.touch_session(db.session, record.id, now)
        db.session.commit()
    except SQLAlchemyError:  # a busy database must not sign anyone out: try again next request
        db.session.rollback()
        log.warning("Could not record session activity", exc_info=True)
        return
    set_committed_value(record, "last_seen_at", now)
