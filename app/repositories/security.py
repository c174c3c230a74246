"""Queries for server-side sessions and failed sign-ins.

Sessions are tenant-owned: ``SessionRepository`` is built for one tenant like every
other repository. Two lookups run before a tenant is known, like sign-in's own:
finding a session by its key hash (every page request) and the login attempts,
which are keyed by the email typed and the client address, not by tenant.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, contains_eager, make_transient_to_detached

from app.models import LoginAttempt, Tenant, User, UserSession
from app.models.base import utcnow


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
# Every page request runs this lookup first, and for most of them (a remembered queue page) it is the
# only statement. Through the ORM's query, the Session's transaction and the loading machinery cost more
# than the statement (about 200 µs in all, of a 1.37 ms queue page); so the statement runs on a Core
# connection of its own, and its one row is put together here into the three mapped objects, attached
# to the session as loaded, as the ORM's loader leaves them: the page fell to 1.28 ms (docs/performance.md,
# "Fixes"). A session already holding objects (a test's, a view's) gets the ORM query, which answers
# with the instances the session has. tests/integration/security/test_session_lookup.py holds it to that.
_TABLES = (UserSession, User, Tenant)
_SESSION_ROW = (select(*UserSession.__table__.c, *User.__table__.c, *Tenant.__table__.c)
                .join(User.__table__, User.__table__.c.id == UserSession.__table__.c.user_id)
                .join(Tenant.__table__, Tenant.__table__.c.id == User.__table__.c.tenant_id)
                .where(UserSession.__table__.c.id == bindparam("key_hash")))
# For each column of the row: which object, which attribute (a column's attribute may be named apart).
_SESSION_ROW_PLAN = tuple((index, sa_inspect(model).get_property_by_column(column).key)
                          for index, model in enumerate(_TABLES) for column in model.__table__.c)
_SESSION_BY_HASH = (select(UserSession).join(UserSession.user).join(User.tenant)
                    .options(contains_eager(UserSession.user).contains_eager(User.tenant))
                    .where(UserSession.id == bindparam("key_hash")))


def session_by_hash(session: Session, key_hash: str) -> UserSession | None:
    """The session row with its user and tenant, in one query, attached to ``session`` as loaded."""
    if session.identity_map or session.new:
        return session.scalar(_SESSION_BY_HASH, {"key_hash": key_hash})
    with session.get_bind().connect() as connection:
        row = connection.execute(_SESSION_ROW, {"key_hash": key_hash}).first()
    if row is None:
        return None
    record, user, tenant = objects = tuple(sa_inspect(model).class_manager.new_instance() for model in _TABLES)
    for (index, key), value in zip(_SESSION_ROW_PLAN, row):
        objects[index].__dict__[key] = value  # where the ORM's loader puts a loaded column's value
    user.__dict__["tenant"] = tenant
    record.__dict__["user"] = user
    for instance in objects:
        make_transient_to_detached(instance)  # its identity from its primary key: loaded, unchanged
    session.add(record)  # and, by cascade, its user and tenant
    return record


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
