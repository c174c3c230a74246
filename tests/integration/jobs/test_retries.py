"""Transient failures are retried with growing delays; permanent ones fail at once.

Both jobs run on one worker (a consumer takes seconds to start on a busy machine).
"""
from __future__ import annotations

import time

from tests.integration.jobs.harness import wait_for
from tests.integration.jobs.testing_tasks import read_lines

BASE = 0.2  # JOB_RETRY_BASE_SECONDS of the stack
JITTER = (0.8, 1.2)  # backoff_delay's ±20 %


def test_transient_failures_back_off_exponentially_and_permanent_ones_fail_at_once(stack, tmp_path):
    flaky_runs, doomed_runs = str(tmp_path / "flaky-runs"), str(tmp_path / "doomed-runs")
    failures = 3
    stack.start_worker()
    flaky = stack.enqueue("testonly.fail_then_succeed", failures, flaky_runs)
    doomed = stack.enqueue("testonly.fail_permanently", doomed_runs, "the customer record is gone")

    # Watch the flaky job's record: each 'retrying' state carries the time of the next attempt.
    seen: dict[tuple[str, int], object] = {}

    def finished():
        row = stack.job(flaky)
        if row is not None:
            seen.setdefault((row.state, row.attempt), row)
            if row.state in ("succeeded", "failed"):
                return row
        return None

    done = wait_for(finished, 30, "the flaky job to finish", interval=0.02, on_timeout=stack.logs)
    assert (done.state, done.attempt, done.max_attempts) == ("succeeded", failures + 1, 4)
    assert done.error is None and done.traceback is None and done.next_attempt_at is None

    retrying = [seen.get(("retrying", n)) for n in range(1, failures + 1)]
    assert all(retrying), f"every failed attempt is recorded as retrying: {sorted(seen)}"
    for n, row in enumerate(retrying, start=1):
        assert row.error == f"RuntimeError: transient failure {n} of {failures}"
        assert "fail_then_succeed" in row.traceback
    # The delay the job chose after each failure: from the end of the attempt to the next one.
    delays = [(row.next_attempt_at - row.started_at).total_seconds() - row.duration_ms / 1000 for row in retrying]
    for n, delay in enumerate(delays, start=1):
        expected = BASE * 2 ** (n - 1)
        # Never shorter than the backoff. Longer only by the time between the attempt's end being
        # measured and its next time being set (database writes: tenths of a second on a busy machine).
        assert expected * JITTER[0] - 0.01 <= delay <= expected * JITTER[1] + 0.3, delays
    assert delays[0] < delays[2], delays  # grows: 0.16-0.24 s first, 0.64-0.96 s third

    runs = read_lines(flaky_runs)
    assert len(runs) == failures + 1 and {r["job_id"] for r in runs} == {flaky}
    # No attempt ran before the time its predecessor set for it.
    for row, run in zip(retrying, runs[1:]):
        assert run["at"] >= row.next_attempt_at.timestamp() - 0.05, (run, row.next_attempt_at)

    # The permanent failure: one attempt, failed, with its error and traceback.
    row = stack.wait_for_job(doomed, ("failed", "succeeded"), timeout=30)
    assert (row.state, row.attempt, row.max_attempts) == ("failed", 1, 3)
    assert row.error == "PermanentJobError: the customer record is gone"
    assert "Traceback" in row.traceback and "fail_permanently" in row.traceback
    assert "app.services.jobs.PermanentJobError: the customer record is gone" in row.traceback
    assert row.finished_at is not None and row.next_attempt_at is None and row.lease_expires_at is None
    wait_until = row.finished_at.timestamp() + 2 * BASE * JITTER[1] + 1.5  # a retry would have come round
    time.sleep(max(0.0, wait_until - time.time()))
    assert len(read_lines(doomed_runs)) == 1
    assert stack.job(doomed).state == "failed"


# -- in process: the stalled-job check leaves a due retry to its own scheduled attempt -----------
def test_stalled_check_leaves_due_retries_alone_and_requeues_lost_ones(app):
    from datetime import timedelta

    from app.extensions import db
    from app.models import JobExecution
    from app.models.base import utcnow
    from app.services import jobs as job_records
    from app.tasks.maintenance import STALLED_GRACE_SECONDS, recover_stalled_once

    def row():
        db.session.expire_all()
        return db.session.query(JobExecution).filter_by(job_id="flaky-1").one()

    with app.app_context():
        job_records.start_attempt("flaky-1", "testonly.not_registered", (), {}, 1, 3, 60)
        # Attempt 1 failed; its retry was due a second ago and waits for the scheduler's next tick.
        job_records.finish_attempt("flaky-1", duration_ms=1, error=RuntimeError("blip"),
                                   retry_at=utcnow() - timedelta(seconds=1))
        assert recover_stalled_once() == 0
        assert (row().state, row().attempt) == ("retrying", 1)

        # The check read the row, then a worker started the retry: the check must not requeue it.
        assert job_records.start_attempt("flaky-1", "testonly.not_registered", (), {}, 2, 3, 60)
        assert job_records.mark_requeued("flaky-1", worker_died=False, attempt=1) is False
        assert (row().state, row().attempt) == ("running", 2)

        # Attempt 2 failed too, and its retry never came (the message was lost): requeued.
        job_records.finish_attempt("flaky-1", duration_ms=1, error=RuntimeError("blip"),
                                   retry_at=utcnow() - timedelta(seconds=STALLED_GRACE_SECONDS + 1))
        assert recover_stalled_once() == 1
        assert row().state == "queued"
        db.session.remove()
