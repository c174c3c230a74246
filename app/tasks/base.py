"""How every Ticketry job runs: inside the app context, recorded, retried, idempotent.

``@job`` wraps a plain function as a Huey task. Each run is recorded in
job_executions (state, attempt, duration, error); transient errors are retried
with exponential backoff and jitter by scheduling the next attempt ourselves,
so attempts and delays are ours to record; permanent errors fail at once.
``@periodic`` runs a function on a crontab once per slot, whatever the number
of consumers: the first to insert (task, slot) into periodic_runs runs it.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from functools import wraps

from flask import Flask, current_app, has_app_context

from app.extensions import db
from app.models.base import utcnow
from app.observability.metrics import job_executed
from app.observability.tracing import continued_from, current_carrier
from app.queue import huey
from app.repositories.jobs import claim_periodic_slot
from app.services import jobs as job_records

log = logging.getLogger(__name__)

_app: Flask | None = None
JOBS: dict = {}  # task name -> Huey task wrapper, for requeueing recorded jobs
CONSUMER_ID = f"{socket.gethostname()}:{os.getpid()}"


def bind_app(app: Flask) -> None:
    """The worker's app; tasks push its context. In the web process the request's app is used."""
    global _app
    _app = app


@contextmanager
def app_context():
    if has_app_context():
        yield current_app
        return
    app = _app
    if app is None:
        from app import create_app

        app = create_app()
        bind_app(app)
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()


def _setting(name: str, default):
    return current_app.config.get(name, default)


class Job:
    """A queued job: calling it enqueues, carrying the caller's trace context along."""

    def __init__(self, wrapper, task_name: str, max_attempts: int):
        self.wrapper = wrapper
        self.task_name = task_name
        self.max_attempts = max_attempts

    def __call__(self, *args, **kwargs):
        kwargs.setdefault("_trace", current_carrier())
        return self.wrapper(*args, **kwargs)

    def schedule(self, args=(), kwargs=None, **options):
        kwargs = dict(kwargs or {})
        kwargs.setdefault("_trace", current_carrier())
        return self.wrapper.schedule(args=args, kwargs=kwargs, **options)

    def call_local(self, *args, **kwargs):
        return self.wrapper.call_local(*args, **kwargs)


def job(retries: int = 3, *, name: str | None = None, lease_seconds: int | None = None):
    """Declare a job: ``retries`` is the number of attempts in all for transient errors."""

    def decorator(fn):
        task_name = name or f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}"

        @huey.task(name=task_name, context=True)
        @wraps(fn)
        def runner(*args, _job_id: str | None = None, _attempt: int = 1, _trace: dict | None = None, task=None,
                   **kwargs):
            job_id = _job_id or (task.id if task is not None else None) or os.urandom(8).hex()
            with app_context(), continued_from(_trace, f"job {task_name}", **{"job.id": job_id,
                                                                               "job.attempt": _attempt}):
                lease = lease_seconds or _setting("JOB_LEASE_SECONDS", 300)
                if not job_records.start_attempt(job_id, task_name, args, kwargs, _attempt, retries, lease):
                    return None  # this job already succeeded: running it again changes nothing
                started = time.monotonic()
                error, retry_at = None, None
                try:
                    with job_context(job_id):
                        fn(*args, **kwargs)
                except Exception as exc:  # recorded, then retried or failed
                    error = exc
                    if not job_records.is_permanent(exc) and _attempt < retries:
                        delay = job_records.backoff_delay(_attempt, _setting("JOB_RETRY_BASE_SECONDS", 10.0))
                        retry_at = utcnow() + timedelta(seconds=delay)
                        log.warning("job %s %s attempt %d failed (%s); retry in %.1fs",
                                    task_name, job_id, _attempt, exc, delay)
                    else:
                        log.error("job %s %s failed for good after %d attempt(s): %s",
                                  task_name, job_id, _attempt, exc)
                duration_ms = int((time.monotonic() - started) * 1000)
                job_records.finish_attempt(job_id, duration_ms=duration_ms, error=error, retry_at=retry_at)
                job_executed(task_name, "failed" if error is not None and retry_at is None
                             else "retrying" if error is not None else "succeeded", duration_ms / 1000)
                if retry_at is not None:
                    handle.schedule(args=args, kwargs={**kwargs, "_job_id": job_id, "_attempt": _attempt + 1},
                                    eta=retry_at)
            return None

        handle = Job(runner, task_name, retries)
        JOBS[task_name] = handle
        return handle

    return decorator


# Per thread (a ContextVar): the consumer runs several jobs at once in worker threads, and
# a module-wide value let one job's record_tenant() land on another job's row.
_current_job_id: ContextVar[str | None] = ContextVar("ticketry_job_id", default=None)


def current_job_id() -> str | None:
    """The id of the job running in this thread, if any."""
    return _current_job_id.get()


@contextmanager
def job_context(job_id: str):
    token = _current_job_id.set(job_id)
    try:
        yield
    finally:
        _current_job_id.reset(token)


def record_tenant(tenant_id: int | None) -> None:
    """Tasks call this once they know whose work it is (the jobs dashboard is per tenant)."""
    job_id = _current_job_id.get()
    if job_id is not None:
        job_records.set_tenant(job_id, tenant_id)


def periodic(schedule, *, name: str, period_seconds: int):
    """A periodic job that runs once per slot across every consumer."""

    def decorator(fn):
        @huey.periodic_task(schedule, name=name)
        @wraps(fn)
        def runner():
            with app_context(), continued_from(None, f"periodic {name}"):
                now = utcnow()
                slot_start = int(now.timestamp()) // period_seconds * period_seconds
                if not claim_periodic_slot(db.session, name, str(slot_start), CONSUMER_ID):
                    log.info("periodic %s slot %s already run by another consumer", name, slot_start)
                    return None
                fn()
            return None

        runner.task_name = name
        runner.call_local_fn = fn
        return runner

    return decorator


def enqueue_recorded(row) -> None:
    """Put a recorded job (Retry button, stalled recovery) back on the queue with its stored arguments."""
    runner = JOBS.get(row.task_name)
    if runner is None:
        log.error("no job named %s to requeue", row.task_name)
        return
    stored = row.args or {}
    runner(*stored.get("args", []), **{**stored.get("kwargs", {}), "_job_id": row.job_id,
                                       "_attempt": row.attempt + 1})


def dispatch_by_name(job_name: str, args: tuple) -> None:
    """Enqueue a job a service asked for after commit; a broker outage is logged, the job's
    own sweeper (which reads the durable rows) catches up."""
    runner = JOBS.get(job_name)
    if runner is None:
        log.error("no job named %s", job_name)
        return
    try:
        runner(*args)
    except Exception as exc:
        log.warning("queue unavailable, %s%r left for its sweeper: %s", job_name, args, exc)


job_records.enqueue_recorded_job = enqueue_recorded
