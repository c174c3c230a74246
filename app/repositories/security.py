"""Queries for server-side sessions and failed sign-ins.

Sessions are tenant-owned: ``SessionRepository`` is built for one tenant like every
other repository. Two lookups run before a tenant is known, like sign-in's own:
finding a session by its key hash (every page request) and the login attempts,
which are keyed by the email typed and the client address, not by tenant.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.models import LoginAttempt, UserSession
from app.models.base import utcnow
from app.repositories.signed_in import SignedInLookup


class SessionRepository:
    def __init__(self, session: Session, tenant_id: int):
        self.session = session
        self.tenant_id = tenant_id

    def add(self, record: UserSession) -> UserSession:
        record.tenant_id = self.tenant_id
        self.session.add(record)
        return record

    def revoke(self, key_hash: str, user_id: int) -> int:
        """Revoke one session of this user; the number of rows revoked (0 or 1)."""
        return self._revoke(UserSession.id == key_hash, UserSession.user_id == user_id)

    def revoke_for_user(self, user_id: int) -> int:
        """Revoke every live session of this user; how many there were."""
        return self._revoke(UserSession.user_id == user_id)

    def live_for_user(self, user_id: int) -> list[UserSession]:
        stmt = (select(UserSession)
                .where(UserSession.tenant_id == self.tenant_id, UserSession.user_id == user_id,
                       UserSession.revoked_at.is_(None))
                .order_by(UserSession.created_at.desc()))
        return list(self.session.scalars(stmt))

    def _revoke(self, *conditions) -> int:
        result = self.session.execute(
            update(UserSession)
            .where(UserSession.tenant_id == self.tenant_id, UserSession.revoked_at.is_(None), *conditions)
            .values(revoked_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0


# -- before a tenant is known -------------------------------------------------------
# Every page request runs this first: one statement, made into the three objects (repositories/signed_in.py).
session_by_hash = SignedInLookup(UserSession, UserSession.id)
"""session_by_hash(session, key_hash): the session row with its user and tenant, or None."""


def touch_session(session: Session, key_hash: str, now: datetime) -> None:
    session.execute(update(UserSession).where(UserSession.id == key_hash).values(last_seen_at=now)
                    .execution_options(synchronize_session=False))


def prune_sessions(session: Session, seen_before: datetime) -> int:
    """Delete sessions not used since ``seen_before`` (a lifetime ago): expired, so useless even when not revoked.

    A session used lately but started more than a lifetime ago is refused too; its row goes a little later.
    """
    result = session.execute(delete(UserSession).where(UserSession.last_seen_at < seen_before)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0


def add_failed_login(session: Session, email: str, ip: str | None, now: datetime) -> LoginAttempt:
    attempt = LoginAttempt(email=email, ip=ip, created_at=now)
    session.add(attempt)
    return attempt


def account_failures(session: Session, email: str, since: datetime) -> tuple[int, datetime | None, int | None]:
    """(count, latest time, latest id) of this email's failures since ``since`` not cleared by a sign-in."""
    where = (LoginAttempt.email == email, LoginAttempt.created_at >= since, LoginAttempt.cleared_at.is_(None))
    return _failures(session, where)


def address_failures(session: Session, ip: str, since: datetime) -> tuple[int, datetime | None, int | None]:
    """(count, latest time, latest id) of the failures from this address since ``since``."""
    return _failures(session, (LoginAttempt.ip == ip, LoginAttempt.created_at >= since))


def _failures(session: Session, where) -> tuple[int, datetime | None, int | None]:
    count, latest_id = session.execute(select(func.count(), func.max(LoginAttempt.id)).where(*where)).one()
    if not count:
        return 0, None, None
    # The newest row (ids grow with time); its time read through the column type (UTC, aware).
    latest_at = session.scalar(select(LoginAttempt.created_at).where(LoginAttempt.id == latest_id))
    return count, latest_at, latest_id


def clear_account_failures(session: Session, email: str, now: datetime) -> None:
    session.execute(update(LoginAttempt).where(LoginAttempt.email == email, LoginAttempt.cleared_at.is_(None))
                    .values(cleared_at=now).execution_options(synchronize_session=False))


def claim_refusal_audit(session: Session, attempt_id: int) -> bool:
    """Mark the failure that started a lock as audited; False when another request already did."""
    result = session.execute(update(LoginAttempt)
                             .where(LoginAttempt.id == attempt_id, LoginAttempt.refusal_audited.is_(False))
                             .values(refusal_audited=True).execution_options(synchronize_session=False))
    return bool(result.rowcount)


def prune_login_attempts(session: Session, before: datetime) -> int:
    result = session.execute(delete(LoginAttempt).where(LoginAttempt.created_at < before)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0
