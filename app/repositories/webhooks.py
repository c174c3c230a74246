"""Tenant-scoped queries for webhook endpoints, deliveries and attempts, plus the worker's by-id view."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.repositories.pagination import Page, paginate


@dataclass
class WindowStats:
    attempts: int = 0
    succeeded: int = 0
    avg_latency_ms: float | None = None

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.attempts if self.attempts else None


class WebhookRepository:
    def __init__(self, session: Session, tenant_id: int):
        self.session = session
        self.tenant_id = tenant_id

    # -- endpoints -------------------------------------------------------------------
    def _endpoints(self):
        return select(WebhookEndpoint).where(WebhookEndpoint.tenant_id == self.tenant_id)

    def endpoint(self, endpoint_id: int, *, for_update: bool = False) -> WebhookEndpoint:
        stmt = self._endpoints().where(WebhookEndpoint.id == endpoint_id)
        if for_update and self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = self.session.scalar(stmt)
        if row is None:
            raise NotFound("Webhook", endpoint_id)
        return row

    def endpoints(self, page: int, limit: int) -> Page:
        stmt = self._endpoints().order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        return paginate(self.session, stmt, page, limit)

    def all_endpoints(self) -> list[WebhookEndpoint]:
        return list(self.session.scalars(self._endpoints().order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)))

    def active_endpoints(self) -> list[WebhookEndpoint]:
        stmt = self._endpoints().where(WebhookEndpoint.active.is_(True)).order_by(WebhookEndpoint.id)
        return list(self.session.scalars(stmt))

    def add_endpoint(self, endpoint: WebhookEndpoint) -> WebhookEndpoint:
        endpoint.tenant_id = self.tenant_id
        self.session.add(endpoint)
        return endpoint

    def delete_endpoint(self, endpoint: WebhookEndpoint) -> None:
        """Its attempts and deliveries go with it (explicitly: no reliance on ON DELETE)."""
        for model in (WebhookAttempt, WebhookDelivery):
            self.session.execute(delete(model).where(model.tenant_id == self.tenant_id,
                                                     model.endpoint_id == endpoint.id))
        self.session.delete(endpoint)

    # -- deliveries ------------------------------------------------------------------
    def _deliveries(self, endpoint_id: int):
        return select(WebhookDelivery).where(WebhookDelivery.tenant_id == self.tenant_id,
                                             WebhookDelivery.endpoint_id == endpoint_id)

    def delivery(self, endpoint_id: int, delivery_id: int, *, for_update: bool = False) -> WebhookDelivery:
        # populate_existing: the worker writes deliveries with Core statements; never show a stale row.
        stmt = (self._deliveries(endpoint_id).where(WebhookDelivery.id == delivery_id)
                .execution_options(populate_existing=True))
        if for_update and self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = self.session.scalar(stmt)
        if row is None:
            raise NotFound("Delivery", delivery_id)
        return row

    def deliveries(self, endpoint_id: int, *, status: str | None, event_type: str | None,
                   page: int, limit: int) -> Page:
        stmt = self._deliveries(endpoint_id)
        if status:
            stmt = stmt.where(WebhookDelivery.status == status)
        if event_type:
            stmt = stmt.where(WebhookDelivery.event_type == event_type)
        stmt = stmt.order_by(WebhookDelivery.id.desc()).execution_options(populate_existing=True)
        return paginate(self.session, stmt, page, limit)

    def add_delivery(self, delivery: WebhookDelivery) -> WebhookDelivery:
        delivery.tenant_id = self.tenant_id
        self.session.add(delivery)
        return delivery

    def dead_deliveries(self, endpoint_id: int, limit: int) -> list[WebhookDelivery]:
        stmt = (self._deliveries(endpoint_id).where(WebhookDelivery.status == "dead")
                .order_by(WebhookDelivery.id).limit(limit))
        if self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        return list(self.session.scalars(stmt))

    def count_dead(self, endpoint_id: int) -> int:
        stmt = select(func.count()).select_from(WebhookDelivery).where(
            WebhookDelivery.tenant_id == self.tenant_id, WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status == "dead")
        return self.session.scalar(stmt) or 0

    def dead_counts(self) -> dict[int, int]:
        stmt = (select(WebhookDelivery.endpoint_id, func.count())
                .where(WebhookDelivery.tenant_id == self.tenant_id, WebhookDelivery.status == "dead")
                .group_by(WebhookDelivery.endpoint_id))
        return dict(self.session.execute(stmt).all())

    def event_types(self, endpoint_id: int) -> list[str]:
        stmt = (select(WebhookDelivery.event_type).distinct()
                .where(WebhookDelivery.tenant_id == self.tenant_id, WebhookDelivery.endpoint_id == endpoint_id)
                .order_by(WebhookDelivery.event_type))
        return list(self.session.scalars(stmt))

    def attempts(self, delivery_id: int) -> list[WebhookAttempt]:
        stmt = (select(WebhookAttempt)
                .where(WebhookAttempt.tenant_id == self.tenant_id, WebhookAttempt.delivery_id == delivery_id)
                .order_by(WebhookAttempt.id))
        return list(self.session.scalars(stmt))

    # -- console numbers -----------------------------------------------------------------
    def window_stats(self, since: datetime) -> dict[int, WindowStats]:
        return _window_stats(self.session, since, tenant_id=self.tenant_id, by_endpoint=True)

    def latency_percentile(self, endpoint_id: int, since: datetime, fraction: float) -> int | None:
        return _percentile(self.session, since, fraction, tenant_id=self.tenant_id, endpoint_id=endpoint_id)

    def last_attempts(self) -> dict[int, WebhookAttempt]:
        latest = (select(func.max(WebhookAttempt.id))
                  .where(WebhookAttempt.tenant_id == self.tenant_id)
                  .group_by(WebhookAttempt.endpoint_id))
        stmt = select(WebhookAttempt).where(WebhookAttempt.tenant_id == self.tenant_id,
                                            WebhookAttempt.id.in_(latest))
        return {row.endpoint_id: row for row in self.session.scalars(stmt)}


# -- instance-wide: the metrics endpoint --------------------------------------------------
def _window_stats(session: Session, since: datetime, *, tenant_id: int | None, by_endpoint: bool):
    columns = [func.count(), func.sum(case((WebhookAttempt.succeeded.is_(True), 1), else_=0)),
               func.avg(WebhookAttempt.latency_ms)]
    stmt = select(WebhookAttempt.endpoint_id, *columns) if by_endpoint else select(*columns)
    stmt = stmt.where(WebhookAttempt.started_at >= since)
    if tenant_id is not None:
        stmt = stmt.where(WebhookAttempt.tenant_id == tenant_id)
    if by_endpoint:
        stmt = stmt.group_by(WebhookAttempt.endpoint_id)
        return {endpoint_id: WindowStats(n, int(ok or 0), None if avg is None else float(avg))
                for endpoint_id, n, ok, avg in session.execute(stmt).all()}
    n, ok, avg = session.execute(stmt).one()
    return WindowStats(n or 0, int(ok or 0), None if avg is None else float(avg))


def _percentile(session: Session, since: datetime, fraction: float, *, tenant_id: int | None,
                endpoint_id: int | None = None) -> int | None:
    """Nearest-rank percentile of attempt latency: portable (an ORDER BY with OFFSET) on both databases."""
    where = [WebhookAttempt.started_at >= since, WebhookAttempt.latency_ms.is_not(None)]
    if tenant_id is not None:
        where.append(WebhookAttempt.tenant_id == tenant_id)
    if endpoint_id is not None:
        where.append(WebhookAttempt.endpoint_id == endpoint_id)
    n = session.scalar(select(func.count()).select_from(WebhookAttempt).where(*where)) or 0
    if not n:
        return None
    rank = max(1, -(-int(round(fraction * n * 1000)) // 1000))  # ceil(fraction × n), float-safe
    stmt = (select(WebhookAttempt.latency_ms).where(*where).order_by(WebhookAttempt.latency_ms)
            .offset(min(rank, n) - 1).limit(1))
    return session.scalar(stmt)


def instance_window_stats(session: Session, since: datetime, tenant_id: int | None) -> WindowStats:
    return _window_stats(session, since, tenant_id=tenant_id, by_endpoint=False)


def instance_latency_percentile(session: Session, since: datetime, fraction: float, tenant_id: int | None):
    return _percentile(session, since, fraction, tenant_id=tenant_id)


def count_by_status(session: Session, tenant_id: int | None) -> dict[str, int]:
    stmt = select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
    if tenant_id is not None:
        stmt = stmt.where(WebhookDelivery.tenant_id == tenant_id)
    return dict(session.execute(stmt).all())


# -- the worker: the sweeper's scan -----------------------------------------------------------
def due_deliveries(session: Session, now: datetime, queued_before: datetime, limit: int) -> list[WebhookDelivery]:
    """Unfinished deliveries whose attempt is due and not in flight.

    In flight means a live lease (an attempt running) or, without a lease, a
    due time later than ``queued_before`` (the queue may still be about to run it).
    """
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.status.in_(("pending", "retrying")),
               WebhookDelivery.next_attempt_at <= now,
               ((WebhookDelivery.lease_expires_at.is_not(None)) & (WebhookDelivery.lease_expires_at < now))
               | ((WebhookDelivery.lease_expires_at.is_(None)) & (WebhookDelivery.next_attempt_at <= queued_before)))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.scalars(stmt))


def mark_dead_for_inactive(session: Session, endpoint_id: int, reason: str, now: datetime) -> int:
    result = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status.in_(("pending", "retrying")))
        .values(status="dead", next_attempt_at=None, lease_expires_at=None, last_error=reason,
                completed_at=now, updated_at=now))
    return result.rowcount or 0



# -- the worker's hot path: pre-built Core statements on the session's connection -------------------
# One attempt costs a handful of statements; built once (their cache keys are memoised), they
# skip the ORM layer. Bind parameter names start with "p_" so they never clash with columns.
_D, _E, _A = WebhookDelivery.__table__, WebhookEndpoint.__table__, WebhookAttempt.__table__
UNFINISHED = ("pending", "retrying")

_SNAPSHOT = (select(_D.c.id, _D.c.tenant_id, _D.c.endpoint_id, _D.c.event_id, _D.c.payload, _D.c.status,
                    _D.c.attempt_count, _D.c.max_attempts, _D.c.next_attempt_at, _D.c.lease_expires_at,
                    _E.c.url, _E.c.active, _E.c.secret, _E.c.previous_secret, _E.c.previous_secret_expires_at,
                    _E.c.failing_since)
             .join_from(_D, _E, _D.c.endpoint_id == _E.c.id)
             .where(_D.c.id == bindparam("p_id")))
# The fencing condition: still unfinished, at the attempt count the caller saw.
_UNCHANGED = (_D.c.id == bindparam("p_id"), _D.c.attempt_count == bindparam("p_count"),
              _D.c.status.in_(UNFINISHED))
_CLAIM = (update(_D)
          .where(*_UNCHANGED, (_D.c.lease_expires_at.is_(None)) | (_D.c.lease_expires_at <= bindparam("p_now")))
          .values(attempt_count=bindparam("p_next"), lease_expires_at=bindparam("p_lease"),
                  last_attempt_at=bindparam("p_now"), updated_at=bindparam("p_now")))
_SETTLE = (update(_D).where(*_UNCHANGED)
           .values(status=bindparam("p_status"), next_attempt_at=bindparam("p_next_attempt_at"),
                   lease_expires_at=None, completed_at=bindparam("p_completed_at"),
                   updated_at=bindparam("p_updated_at"), last_error=bindparam("p_last_error"),
                   last_status_code=bindparam("p_last_status_code")))
_ADD_ATTEMPT = insert(_A)
_FAILING_START = (update(_E).where(_E.c.id == bindparam("p_id"), _E.c.failing_since.is_(None))
                  .values(failing_since=bindparam("p_now")))
_FAILING_END = (update(_E).where(_E.c.id == bindparam("p_id"), _E.c.failing_since.is_not(None))
                .values(failing_since=None))


def attempt_snapshot(session: Session, delivery_id: int):
    """The delivery and endpoint columns an attempt needs, in one read."""
    return session.connection().execute(_SNAPSHOT, {"p_id": delivery_id}).one_or_none()


def claim_delivery(session: Session, delivery_id: int, attempt_count: int, now: datetime,
                   lease_expires_at: datetime) -> bool:
    """Atomically take attempt ``attempt_count + 1``; False when another worker got there first."""
    result = session.connection().execute(_CLAIM, {"p_id": delivery_id, "p_count": attempt_count, "p_now": now,
                                                   "p_next": attempt_count + 1, "p_lease": lease_expires_at})
    return result.rowcount == 1


def settle_delivery(session: Session, delivery_id: int, attempt_count: int, *, status: str,
                    next_attempt_at: datetime | None, completed_at: datetime | None, updated_at: datetime,
                    last_error: str | None, last_status_code: int | None) -> bool:
    """Write an attempt's outcome unless a newer attempt owns the delivery (then False)."""
    result = session.connection().execute(_SETTLE, {
        "p_id": delivery_id, "p_count": attempt_count, "p_status": status, "p_next_attempt_at": next_attempt_at,
        "p_completed_at": completed_at, "p_updated_at": updated_at, "p_last_error": last_error,
        "p_last_status_code": last_status_code})
    return result.rowcount == 1


def add_attempt(session: Session, **values) -> None:
    session.connection().execute(_ADD_ATTEMPT, values)


def set_failing_since(session: Session, endpoint_id: int, value: datetime | None) -> None:
    """Start (a time) or end (None) an endpoint's failing streak, unless it already is so."""
    if value is None:
        session.connection().execute(_FAILING_END, {"p_id": endpoint_id})
    else:
        session.connection().execute(_FAILING_START, {"p_id": endpoint_id, "p_now": value})
