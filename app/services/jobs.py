"""The job record: executions across attempts, retries, stalled-job recovery, queue numbers."""
from __future__ import annotations

import random
import traceback as tb
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.errors import Conflict, DomainError
from app.extensions import db
from app.models import JobExecution
from app.models.base import utcnow
from app.repositories.jobs import JobRepository, mark_succeeded, start_execution
from app.repositories.sqlite import begin_write


class PermanentJobError(Exception):
    """A failure that retrying cannot fix: the job fails at once."""


def is_permanent(exc: BaseException) -> bool:
    return isinstance(exc, (PermanentJobError, DomainError))


def backoff_delay(attempt: int, base: float, cap: float = 3600.0) -> float:
    """Exponential backoff with jitter: about base, 2×base, 4×base… (±20 %), at most cap."""
    return min(cap, base * (2 ** (attempt - 1))) * random.uniform(0.8, 1.2)


def summarise(args: tuple, kwargs: dict) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return ", ".join(parts)[:255]


def _commit(fn):
    begin_write(db.session)
    result = fn(JobRepository(db.session))
    db.session.commit()
    return result


def start_attempt(job_id: str, task_name: str, args: tuple, kwargs: dict, attempt: int, max_attempts: int,
                  lease_seconds: int) -> bool:
    """Record that an attempt starts; False when the job already succeeded (run it not again)."""
    begin_write(db.session)
    now = utcnow()
    started = start_execution(db.session, job_id, attempt=attempt, now=now,
                              lease_expires_at=now + timedelta(seconds=lease_seconds),
                              new_row={"task_name": task_name, "args": {"args": list(args), "kwargs": kwargs},
                                       "args_summary": summarise(args, kwargs), "created_at": now,
                                       "max_attempts": max_attempts})
    db.session.commit()
    return started


def set_tenant(job_id: str, tenant_id: int | None) -> None:
    def apply(jobs: JobRepository) -> None:
        row = jobs.by_job_id(job_id)
        if row is not None and row.tenant_id != tenant_id:
            row.tenant_id = tenant_id

    _commit(apply)


def finish_attempt(job_id: str, *, duration_ms: int, error: BaseException | None, retry_at: datetime | None) -> None:
    def apply(jobs: JobRepository) -> None:
        row = jobs.by_job_id(job_id)
        if row is None:
            return
        row.duration_ms = duration_ms
        row.lease_expires_at = None
        if error is None:
            row.state, row.error, row.traceback, row.finished_at = "succeeded", None, None, utcnow()
            return
        row.error = f"{type(error).__name__}: {error}"[:1000]
        row.traceback = "".join(tb.format_exception(error))[-20000:]
        if retry_at is not None:
            row.state, row.next_attempt_at = "retrying", retry_at
        else:
            row.state, row.finished_at = "failed", utcnow()

    db.session.rollback()  # whatever the failed job left in the session
    if error is None:  # the common case, in one statement
        begin_write(db.session)
        mark_succeeded(db.session, job_id, duration_ms=duration_ms, now=utcnow())
        db.session.commit()
        return
    _commit(apply)


def request_retry(tenant_id: int | None, execution_id: int) -> JobExecution:
    """An admin's Retry button: a failed job goes back to the queue with a fresh attempt budget."""

    def apply(jobs: JobRepository) -> JobExecution:
        row = jobs.get(execution_id)
        if row.state != "failed":
            raise Conflict("Only failed jobs can be retried.")
        row.state, row.attempt, row.next_attempt_at, row.finished_at = "queued", 0, utcnow(), None
        return row

    return _commit(lambda _: apply(JobRepository(db.session, tenant_id)))


def stalled_jobs(now: datetime | None = None, overdue_seconds: float = 0) -> list[JobExecution]:
    """Jobs whose worker died, and jobs due more than ``overdue_seconds`` ago that no worker started.

    A due retry waits for the scheduler's next tick and a free worker: without the margin the
    check would requeue it while its own scheduled attempt is on its way, and it would run twice.
    """
    now = now or utcnow()
    return JobRepository(db.session).stalled(now, due_before=now - timedelta(seconds=overdue_seconds))


def mark_requeued(job_id: str, *, worker_died: bool, attempt: int | None = None) -> bool:
    """Put a stalled job back in line; False when its attempts are used up (it fails), or when it
    moved on since the stalled check read it (``attempt``: the attempt the check saw)."""

    def apply(jobs: JobRepository) -> bool:
        row = jobs.by_job_id(job_id)
        if row is None or row.state in ("succeeded", "failed"):
            return False
        if (row.state == "running") != worker_died or (attempt is not None and row.attempt != attempt):
            return False  # a worker started it, or an attempt ended, after the check: not stalled
        if worker_died and row.attempt >= row.max_attempts:
            row.state, row.finished_at, row.lease_expires_at = "failed", utcnow(), None
            row.error = "Worker stopped during the last attempt (lease expired)."
            return False
        if worker_died:
            row.error = "Worker stopped during attempt %d (lease expired); requeued." % row.attempt
        row.state, row.lease_expires_at = "queued", None
        row.next_attempt_at = utcnow() + timedelta(minutes=5)  # checked again if this enqueue is lost too
        return True

    return _commit(apply)


def prune_history(days: int) -> int:
    return _commit(lambda jobs: jobs.prune(utcnow() - timedelta(days=days)))


@dataclass
class QueueStats:
    backend: str
    queue_depth: int | None
    scheduled: int | None
    running: int
    by_state: dict[str, int]
    outbox_backlog: int
    broker_error: str | None = None


def executions(tenant_id: int | None, *, state: str | None, task: str | None, page: int, limit: int):
    return JobRepository(db.session, tenant_id).recent(state=state, task=task, page=page, limit=limit)


def task_names(tenant_id: int | None) -> list[str]:
    return JobRepository(db.session, tenant_id).task_names()


def state_counts(tenant_id: int | None) -> dict[str, int]:
    return JobRepository(db.session, tenant_id).counts_by_state()


# The tasks layer installs the function that puts a recorded job back on the queue
# (services never import tasks); used by the Retry button and stalled-job recovery.
enqueue_recorded_job = None


def retry_job(tenant_id: int | None, execution_id: int) -> JobExecution:
    row = request_retry(tenant_id, execution_id)
    if enqueue_recorded_job is not None:
        enqueue_recorded_job(row)
    return row
