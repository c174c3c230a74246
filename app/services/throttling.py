"""Sign-in throttling, per account (the email typed) and per client address.

After ``LOGIN_THROTTLE_ACCOUNT_FAILURES`` failures for one email within
``LOGIN_THROTTLE_WINDOW_MINUTES``, that email may try again only after a delay
counted from its latest failure: one minute, doubling with each further failure,
never more than the window (15 minutes by default) — a guesser is slowed down,
the real owner is never locked out for long. The client address gets the same
treatment after ``LOGIN_THROTTLE_IP_FAILURES`` failures. A refused attempt checks
no password and is not a failure itself. A successful sign-in clears the
account's failures (not the address's).

Counts live in the database (login_attempts), so every web worker sees them. The
email is counted whether or not an account has it, so a refusal says nothing
about which emails exist. The first refusal of each lock is audited
(LOGIN_THROTTLED) in every workspace where the email has an account.
Two simultaneous guesses may both pass the check: the limit is a rate, not a lock.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from app.extensions import db
from app.models.base import utcnow
from app.repositories import security as records
from app.repositories.sqlite import begin_write
from app.repositories.tenancy import login_candidates
from app.repositories.unit_of_work import Actor, UnitOfWork

log = logging.getLogger(__name__)

FIRST_DELAY = timedelta(minutes=1)
# Failed attempts are kept this long (or the window, if longer) for investigation, then pruned.
KEEP_ATTEMPTS = timedelta(days=1)


@dataclass(frozen=True)
class Limits:
    account_failures: int = 5
    address_failures: int = 20
    window: timedelta = timedelta(minutes=15)

    @property
    def max_delay(self) -> timedelta:
        return self.window

    @classmethod
    def from_config(cls) -> "Limits":
        if not has_app_context():
            return cls()
        config = current_app.config
        return cls(account_failures=int(config.get("LOGIN_THROTTLE_ACCOUNT_FAILURES", 5)),
                   address_failures=int(config.get("LOGIN_THROTTLE_IP_FAILURES", 20)),
                   window=timedelta(minutes=float(config.get("LOGIN_THROTTLE_WINDOW_MINUTES", 15))))


class LoginThrottled(Exception):
    """Too many failed sign-ins for this email or from this address: try again in ``retry_after`` seconds."""

    def __init__(self, retry_after: int, scope: str):
        super().__init__(f"sign-in throttled ({scope}) for {retry_after}s")
        self.retry_after = retry_after
        self.scope = scope


def normalise(email: str | None) -> str:
    return (email or "").strip().lower()[:254]


def delay_after(failures: int, limit: int, limits: Limits) -> timedelta | None:
    """How long to wait after the latest of ``failures``; None below the limit."""
    if limit <= 0 or failures < limit:
        return None
    doublings = min(failures - limit, 16)
    return min(FIRST_DELAY * (2 ** doublings), limits.max_delay)


def check(email: str | None, actor: Actor) -> None:
    """Raise LoginThrottled when this email or the actor's address must wait; else nothing."""
    email = normalise(email)
    limits = Limits.from_config()
    now = utcnow()
    since = now - limits.window
    locks: list[tuple[datetime, str, int]] = []
    count, latest_at, latest_id = records.account_failures(db.session, email, since)
    delay = delay_after(count, limits.account_failures, limits)
    if delay is not None and now < latest_at + delay:
        locks.append((latest_at + delay, "account", latest_id))
    if actor.ip_address:
        count, latest_at, latest_id = records.address_failures(db.session, actor.ip_address, since)
        delay = delay_after(count, limits.address_failures, limits)
        if delay is not None and now < latest_at + delay:
            locks.append((latest_at + delay, "ip", latest_id))
    if not locks:
        return
    until, scope, attempt_id = max(locks)
    retry_after = max(1, math.ceil((until - now).total_seconds()))
    _record_refusal(email, actor, scope, retry_after, attempt_id)
    raise LoginThrottled(retry_after, scope)


def record_failure(email: str | None, actor: Actor) -> None:
    """Count a failed sign-in against the email and the address (and prune old attempts)."""
    limits = Limits.from_config()
    now = utcnow()
    begin_write(db.session)
    records.add_failed_login(db.session, normalise(email), (actor.ip_address or "")[:64] or None, now)
    records.prune_login_attempts(db.session, now - max(KEEP_ATTEMPTS, limits.window))
    db.session.commit()


def clear_failures(session: Session, email: str | None) -> None:
    """A successful sign-in: the account's failures stop counting (in the caller's transaction)."""
    records.clear_account_failures(session, normalise(email), utcnow())


def _record_refusal(email: str, actor: Actor, scope: str, retry_after: int, attempt_id: int) -> None:
    """Audit the first refusal of a lock, once across workers, in each workspace the email belongs to."""
    begin_write(db.session)
    claimed = records.claim_refusal_audit(db.session, attempt_id)
    db.session.commit()
    if not claimed:
        return
    log.warning("Sign-in refused by the %s throttle for %ss", scope, retry_after,
                extra={"throttle_scope": scope, "retry_after": retry_after})
    for user in login_candidates(db.session, email):
        with UnitOfWork(user.tenant, Actor(type="anonymous", id=None, label=email[:200], ip_address=actor.ip_address,
                                           user_agent=actor.user_agent, request_id=actor.request_id)) as uow:
            uow.audit("LOGIN_THROTTLED", "User", user.id,
                      {"attempted_email": email, "scope": scope, "retry_after_seconds": retry_after})
            uow.commit()
