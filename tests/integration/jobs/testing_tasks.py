"""Test-only jobs for tests/integration/jobs: never part of the application.

They are declared with the application's own ``@job`` decorator (so they are
recorded, retried and recovered like real jobs) and named ``testonly.*``. The
test worker (run_worker.py), the test web app (web_app.py) and the enqueue
helper (enqueue_job.py) import this module so every process knows them.

Each run appends one JSON line to a file given as an argument, with a single
O_APPEND write: the test reads which job ran, in which process, when.
"""
from __future__ import annotations

import json
import os
import time

from app.services.jobs import PermanentJobError
from app.tasks.base import current_job_id, job, record_tenant


def append_line(path: str, **fields) -> None:
    line = json.dumps({"job_id": current_job_id(), "pid": os.getpid(), "at": time.time(), **fields}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def read_lines(path) -> list[dict]:
    try:
        with open(path) as fh:
            return [json.loads(line) for line in fh if line.strip()]
    except FileNotFoundError:
        return []


@job(retries=3, name="testonly.sleep_then_mark")
def sleep_then_mark(seconds: float, marker: str) -> None:
    """Write ``marker``.started at once, sleep, then write ``marker``: a run that is killed never writes it."""
    append_line(marker + ".started", event="started")
    time.sleep(seconds)
    append_line(marker, event="done")


@job(retries=4, name="testonly.fail_then_succeed")
def fail_then_succeed(failures: int, counter: str) -> None:
    """Fails transiently on its first ``failures`` runs, then succeeds."""
    previous = len(read_lines(counter))
    append_line(counter, event="run")
    if previous < failures:
        raise RuntimeError(f"transient failure {previous + 1} of {failures}")


@job(retries=3, name="testonly.fail_permanently")
def fail_permanently(counter: str, reason: str) -> None:
    append_line(counter, event="run")
    raise PermanentJobError(reason)


@job(retries=1, name="testonly.fail_first_run")
def fail_first_run(tenant_id: int, counter: str) -> None:
    """A tenant's job that fails for good on its first run and succeeds when retried."""
    record_tenant(tenant_id)
    previous = len(read_lines(counter))
    append_line(counter, event="run")
    if previous == 0:
        raise PermanentJobError("the first run fails on purpose")


@job(retries=1, name="testonly.tenant_job")
def tenant_job(tenant_id: int, before: float, after: float, marker: str) -> None:
    """Says whose job it is after ``before`` seconds, then runs on: jobs of two tenants overlap in time."""
    time.sleep(before)
    record_tenant(tenant_id)
    append_line(marker, event="recorded", tenant_id=tenant_id)
    time.sleep(after)
