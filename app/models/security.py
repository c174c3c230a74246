"""Server-side sign-in sessions, and the failed sign-ins that throttle password guessing."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow
from app.models.tenancy import User


class UserSession(db.Model):
    """One signed-in browser. The cookie carries a random key; the row is found by the key's hash.

    A page request is signed in only while its row exists, is not revoked and is younger
    than the session lifetime: sign-out, deactivation and a password change revoke rows.
    ``last_seen_at`` says when it was last used (written at most once a minute).
    """

    __tablename__ = "user_sessions"
    __table_args__ = (
        Index("ix_user_sessions_tenant_user", "tenant_id", "user_id", "revoked_at"),
        Index("ix_user_sessions_last_seen", "last_seen_at"),  # pruning expired rows, across tenants
    )

    # SHA-256 (hex) of the session key; the key itself lives only in the signed session cookie.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class LoginAttempt(db.Model):
    """A failed sign-in, by the email typed (normalised) and the client address.

    Not tenant-owned: it is recorded before (and whether or not) an account is found,
    so an unknown email is throttled exactly like a known one. Rows older than the
    throttling window are pruned.
    """

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_created", "email", "created_at"),
        Index("ix_login_attempts_ip_created", "ip", "created_at"),
        Index("ix_login_attempts_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A later successful sign-in of this email: the failure no longer counts against the account
    # (it still counts against the address).
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The first refused attempt of the lock this failure started has been audited.
    refusal_audited: Mapped[bool] = mapped_column(default=False)
