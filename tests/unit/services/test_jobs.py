"""The job record, the outbox and their idempotency, in-process (Huey immediate mode)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import DailyTicketStats, JobExecution, OutboxEvent, PeriodicRun, ProcessedEvent
from app.models.base import utcnow
from app.repositories.jobs import claim_periodic_slot
from app.services import events
from app.services import jobs as job_records
from app.services.tickets import create_ticket
from app.tasks import maintenance
from tests.conftest import make_ticket


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_committed_change_is_processed_once_and_rerun_changes_nothing(ctx, acme):
    make_ticket(acme)
    event = db.session.scalar(select(OutboxEvent).where(OutboxEvent.event_type == "ticket.created"))
    assert event.processed_at is not None  # immediate mode ran the job after commit
    assert _count(ProcessedEvent, ProcessedEvent.event_id == event.event_id,
                  ProcessedEvent.handler == "daily_stats") == 1
    stats = db.session.scalar(select(DailyTicketStats))
    assert stats.created == 1

    # Run the job's service again (a retry, a relay duplicate): the effect does not repeat.
    db.session.execute(OutboxEvent.__table__.update().values(processed_at=None))
    db.session.commit()
    assert events.process_event(event.event_id) == 0
    db.session.expire_all()
    assert db.session.scalar(select(DailyTicketStats)).created == 1


def test_rolled_back_change_leaves_no_event_and_runs_no_job(ctx, acme):
    with acme.uow() as uow:
        create_ticket(uow, subject="Never saved", description="x", requester_name="A", requester_email="a@b.co")
        uow.rollback()
    assert _count(OutboxEvent) == 0
    assert _count(JobExecution) == 0


def test_relay_sends_events_the_queue_never_got(ctx, acme, monkeypatch):
    from app.tasks import ticket as ticket_tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(ticket_tasks, "process_event", broker_down)
    make_ticket(acme)  # the commit succeeds even though the queue is unreachable
    event = db.session.scalar(select(OutboxEvent))
    assert event.dispatched_at is None and event.processed_at is None
    monkeypatch.undo()

    db.session.execute(OutboxEvent.__table__.update().values(created_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert maintenance.relay_outbox_once() == 1
    db.session.expire_all()
    event = db.session.scalar(select(OutboxEvent))
    assert event.processed_at is not None and event.attempts == 1
    assert maintenance.relay_outbox_once() == 0  # nothing left behind


def test_periodic_slot_is_claimed_once(ctx):
    assert claim_periodic_slot(db.session, "maintenance.relay_outbox", "1700000000", "worker-a") is True
    assert claim_periodic_slot(db.session, "maintenance.relay_outbox", "1700000000", "worker-b") is False
    assert claim_periodic_slot(db.session, "maintenance.relay_outbox", "1700000060", "worker-b") is True
    assert _count(PeriodicRun) == 2


def test_backoff_grows_exponentially_with_jitter():
    delays = [job_records.backoff_delay(n, 10) for n in (1, 2, 3, 4)]
    for n, delay in enumerate(delays, start=1):
        assert 10 * 2 ** (n - 1) * 0.8 <= delay <= 10 * 2 ** (n - 1) * 1.2
    assert job_records.backoff_delay(30, 10, cap=60) <= 60 * 1.2


def test_attempts_are_recorded_and_a_succeeded_job_does_not_run_again(ctx):
    assert job_records.start_attempt("job-1", "t.x", (1,), {}, 1, 3, 60)
    job_records.finish_attempt("job-1", duration_ms=5, error=RuntimeError("boom"),
                               retry_at=utcnow() + timedelta(seconds=10))
    row = db.session.scalar(select(JobExecution))
    assert (row.state, row.attempt, row.error) == ("retrying", 1, "RuntimeError: boom")
    assert "RuntimeError" in row.traceback
    assert job_records.start_attempt("job-1", "t.x", (1,), {}, 2, 3, 60)
    job_records.finish_attempt("job-1", duration_ms=5, error=None, retry_at=None)
    db.session.expire_all()
    row = db.session.scalar(select(JobExecution))
    assert (row.state, row.attempt, row.error) == ("succeeded", 2, None)
    assert job_records.start_attempt("job-1", "t.x", (1,), {}, 3, 3, 60) is False


def test_stalled_running_job_is_requeued_then_failed_when_attempts_are_used(ctx):
    job_records.start_attempt("job-2", "t.y", (), {}, 1, 2, 60)
    db.session.execute(JobExecution.__table__.update().values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    stalled = job_records.stalled_jobs()
    assert [r.job_id for r in stalled] == ["job-2"]
    assert job_records.mark_requeued("job-2", worker_died=True) is True
    db.session.expire_all()
    assert db.session.scalar(select(JobExecution.state)) == "queued"

    job_records.start_attempt("job-2", "t.y", (), {}, 2, 2, 60)
    db.session.execute(JobExecution.__table__.update().values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert job_records.mark_requeued("job-2", worker_died=True) is False
    db.session.expire_all()
    row = db.session.scalar(select(JobExecution))
    assert row.state == "failed" and "lease expired" in row.error
