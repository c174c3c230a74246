"""A worker killed mid-task (SIGKILL) and a worker asked to stop (SIGTERM)."""
from __future__ import annotations

import re
import signal
import time

import pytest
from sqlalchemy import select

from app.models import PeriodicRun
from tests.integration.jobs.harness import wait_for
from tests.integration.jobs.testing_tasks import read_lines


def test_job_of_a_killed_worker_is_requeued_after_its_lease_and_completes_once(stack, tmp_path):
    marker = str(tmp_path / "slow-marker")
    # The first worker schedules no periodic jobs: it would claim this minute's stalled-job
    # check before it dies, and the test would wait for the next minute to see the recovery.
    first = stack.start_worker("--no-periodic")
    job_id = stack.enqueue("testonly.sleep_then_mark", 2.5, marker)
    running = stack.wait_for_job(job_id, ("running",), timeout=20)
    assert running.attempt == 1
    assert running.lease_expires_at is not None
    wait_for(lambda: read_lines(marker + ".started"), 10, "the job's body to start")

    first.signal(signal.SIGKILL)
    assert first.wait(10) == -signal.SIGKILL
    assert read_lines(marker) == [], "the killed run must not have finished"
    assert [line["pid"] for line in read_lines(marker + ".started")] == [first.pid]
    assert stack.job(job_id).state == "running"  # nobody recorded the death: only the lease tells

    # Start the next worker once the lease has run out: its stalled-job check (periodic, run
    # when the consumer starts) finds the job and puts it back on the queue.
    lease_left = (running.lease_expires_at.timestamp() - time.time())
    time.sleep(max(lease_left, 0) + 0.5)
    second = stack.start_worker()
    done = stack.wait_for_job(job_id, ("succeeded", "failed"), timeout=30)

    assert done.state == "succeeded", done.error
    assert done.attempt == 2
    assert done.error is None and done.lease_expires_at is None and done.finished_at is not None
    assert [line["pid"] for line in read_lines(marker + ".started")] == [first.pid, second.pid]
    finished = read_lines(marker)
    assert [(line["job_id"], line["pid"]) for line in finished] == [(job_id, second.pid)]
    assert re.search(r"requeued \d+ stalled job\(s\)", second.log())  # (other jobs the killed worker held count too)
    recoveries = stack.rows(select(PeriodicRun.claimed_by)
                            .where(PeriodicRun.task_name == "maintenance.recover_stalled_jobs"))
    assert [r.claimed_by.rsplit(":", 1)[1] for r in recoveries] == [str(second.pid)]


@pytest.mark.parametrize("broker", ["sqlite"], indirect=True)  # the signal handling is the consumer's, not the broker's
def test_sigterm_lets_the_running_job_finish_before_the_worker_exits(stack, tmp_path):
    marker = str(tmp_path / "slow-marker")
    worker = stack.start_worker("--no-periodic")
    job_id = stack.enqueue("testonly.sleep_then_mark", 2.0, marker)
    stack.wait_for_job(job_id, ("running",), timeout=20)
    wait_for(lambda: read_lines(marker + ".started"), 10, "the job's body to start")
    assert read_lines(marker) == []

    signalled_at = time.time()
    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0, worker.tail()

    finished = read_lines(marker)
    assert [(line["job_id"], line["pid"]) for line in finished] == [(job_id, worker.pid)]
    assert finished[0]["at"] > signalled_at  # the job was still running when the signal came
    row = stack.job(job_id)
    assert (row.state, row.attempt, row.lease_expires_at) == ("succeeded", 1, None)
    log = worker.log()
    assert "Shutting down gracefully" in log and "All workers have stopped" in log
    assert "Shutdown timeout" not in log
