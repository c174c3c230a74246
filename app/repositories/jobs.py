"""Queries over the durable job record: executions, periodic slots, the outbox."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.models import JobExecution, OutboxEvent, PeriodicRun, ProcessedEvent
from app.models.base import utcnow
from app.repositories.pagination import Page, paginate


class JobRepository:
    """Executions; ``tenant_id=None`` is the instance-wide view the worker uses."""

    def __init__(self, session: Session, tenant_id: int | None = None):
        self.session = session
        self.tenant_id = tenant_id

    def _scoped(self):
        stmt = select(JobExecution)
        if self.tenant_id is not None:
            stmt = stmt.where(JobExecution.tenant_id == self.tenant_id)
        return stmt

    def by_job_id(self, job_id: str) -> JobExecution | None:
        # populate_existing: the worker's per-job writes are Core statements (below); never read a stale row.
        return self.session.scalar(self._scoped().where(JobExecution.job_id == job_id)
                                   .execution_options(populate_existing=True))

    def get(self, execution_id: int) -> JobExecution:
        row = self.session.scalar(self._scoped().where(JobExecution.id == execution_id))
        if row is None:
            raise NotFound("Job", execution_id)
        return row

    def recent(self, *, state: str | None, task: str | None, page: int, limit: int) -> Page:
        stmt = self._scoped()
        if state:
            stmt = stmt.where(JobExecution.state == state)
        if task:
            stmt = stmt.where(JobExecution.task_name == task)
        return paginate(self.session, stmt.order_by(JobExecution.created_at.desc(), JobExecution.id.desc()), page, limit)

    def task_names(self) -> list[str]:
        stmt = select(JobExecution.task_name).distinct().order_by(JobExecution.task_name)
        if self.tenant_id is not None:
            stmt = stmt.where(JobExecution.tenant_id == self.tenant_id)
        return list(self.session.scalars(stmt))

    def counts_by_state(self) -> dict[str, int]:
        stmt = select(JobExecution.state, func.count()).group_by(JobExecution.state)
        if self.tenant_id is not None:
            stmt = stmt.where(JobExecution.tenant_id == self.tenant_id)
        return dict(self.session.execute(stmt).all())

    def stalled(self, now: datetime, limit: int = 100, due_before: datetime | None = None) -> list[JobExecution]:
        """Running past their lease (the worker died), or due (before ``due_before``) for a retry that never came."""
        due_before = due_before or now
        stmt = (
            select(JobExecution)
            .where(
                ((JobExecution.state == "running") & (JobExecution.lease_expires_at < now))
                | ((JobExecution.state.in_(("retrying", "queued"))) & (JobExecution.next_attempt_at < due_before))
            )
            .order_by(JobExecution.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def prune(self, before: datetime) -> int:
        result = self.session.execute(
            delete(JobExecution).where(JobExecution.created_at < before,
                                       JobExecution.state.in_(("succeeded", "failed")))
        )
        return result.rowcount or 0


class OutboxRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, event_id: str) -> OutboxEvent | None:
        return self.session.scalar(select(OutboxEvent).where(OutboxEvent.event_id == event_id))

    def claim_undispatched(self, older_than: datetime, limit: int) -> list[OutboxEvent]:
        """Events committed but never handed to the queue (or handed over and lost).

        On PostgreSQL the rows are claimed with FOR UPDATE SKIP LOCKED, so two
        relays never pick the same event; SQLite serialises writers anyway.
        """
        stmt = (
            select(OutboxEvent)
            .where(OutboxEvent.processed_at.is_(None),
                   ((OutboxEvent.dispatched_at.is_(None)) & (OutboxEvent.created_at < older_than))
                   | (OutboxEvent.dispatched_at < older_than))
            .order_by(OutboxEvent.id)
            .limit(limit)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        return list(self.session.scalars(stmt))

    def mark_dispatched(self, event_ids: list[str]) -> None:
        if event_ids:
            self.session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.event_id.in_(event_ids))
                .values(dispatched_at=utcnow(), attempts=OutboxEvent.attempts + 1)
            )

    def backlog(self) -> int:
        return self.session.scalar(select(func.count()).where(OutboxEvent.processed_at.is_(None))) or 0

    def handled(self, event_id: str, handler: str) -> bool:
        return self.session.scalar(
            select(func.count()).where(ProcessedEvent.event_id == event_id, ProcessedEvent.handler == handler)
        ) > 0


# -- the two writes every job makes: pre-built Core statements --------------------------------
# Through the ORM they cost about 2.5 ms of CPU per job, half of a webhook delivery's budget
# (docs/performance.md); built once and run on the session's connection they cost a fraction.
_JE = JobExecution.__table__
_STATE = select(_JE.c.state).where(_JE.c.job_id == bindparam("p_job_id"))
_RUNNING = (update(_JE).where(_JE.c.job_id == bindparam("p_job_id"))
            .values(state="running", attempt=bindparam("p_attempt"), started_at=bindparam("p_now"), finished_at=None,
                    next_attempt_at=None, lease_expires_at=bindparam("p_lease")))
_SUCCEEDED = (update(_JE).where(_JE.c.job_id == bindparam("p_job_id"))
              .values(state="succeeded", error=None, traceback=None, finished_at=bindparam("p_now"),
                      duration_ms=bindparam("p_duration_ms"), lease_expires_at=None))


def start_execution(session: Session, job_id: str, *, attempt: int, now: datetime, lease_expires_at: datetime,
                    new_row: dict) -> bool:
    """The job is running this attempt (a new row the first time); False when it already succeeded."""
    conn = session.connection()
    state = conn.execute(_STATE, {"p_job_id": job_id}).scalar()
    if state == "succeeded":
        return False
    if state is None:
        conn.execute(insert(_JE), {**new_row, "job_id": job_id, "state": "running", "attempt": attempt,
                                   "started_at": now, "lease_expires_at": lease_expires_at})
    else:
        conn.execute(_RUNNING, {"p_job_id": job_id, "p_attempt": attempt, "p_now": now, "p_lease": lease_expires_at})
    return True


def mark_succeeded(session: Session, job_id: str, *, duration_ms: int, now: datetime) -> None:
    session.connection().execute(_SUCCEEDED, {"p_job_id": job_id, "p_now": now, "p_duration_ms": duration_ms})


def claim_periodic_slot(session: Session, task_name: str, slot: str, consumer: str) -> bool:
    """True for the one consumer whose insert wins the (task, slot) unique key."""
    try:
        with session.begin_nested():
            session.add(PeriodicRun(task_name=task_name, slot=slot, claimed_by=consumer[:100]))
        session.commit()
        return True
    except IntegrityError:
        session.rollback()
        return False
