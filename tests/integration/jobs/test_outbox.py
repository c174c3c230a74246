"""Outbox → queue → consumer, across real processes: each event's effect happens once."""
from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select

from app.models import DailyTicketStats, JobExecution, OutboxEvent, ProcessedEvent
from tests.integration.jobs.harness import Browserless, api_create_ticket, expected_handlings, wait_for

API_TICKETS = 4
PAGE_TICKETS = 2


def test_tickets_from_api_and_page_are_processed_once_by_the_worker(stack):
    web = stack.start_web(ready=False)
    worker = stack.start_worker()
    web.wait_ready()
    seed = stack.seed

    for i in range(API_TICKETS):
        # One ticket is assigned too: a second event (ticket.assigned) in the same transaction.
        extra = {} if i else {"assigneeId": seed.acme_lead_id}
        response = api_create_ticket(web, seed.acme_token, f"API ticket {i}", **extra)
        assert response.status_code == 201, response.text
    person = Browserless(web, seed.acme_agent, seed.password)
    for i in range(PAGE_TICKETS):
        response = person.create_ticket(f"Page ticket {i}")
        assert response.status_code == 302, response.text[:2000]
        assert response.headers["Location"].startswith("/tickets/")
    total = API_TICKETS + PAGE_TICKETS

    events = stack.rows(select(OutboxEvent.__table__))
    created = [e for e in events if e.event_type == "ticket.created"]
    assert len(created) == total and len(events) == total + 1
    # Handed to the queue by the web process's after-commit hook, not by the relay.
    assert all(e.dispatched_at is not None for e in events)

    wait_for(lambda: stack.scalar(select(func.count()).select_from(OutboxEvent)
                                  .where(OutboxEvent.processed_at.is_(None))) == 0,
             30, "every outbox event to be processed", on_timeout=stack.logs)

    events = stack.rows(select(OutboxEvent.__table__))
    assert all(e.processed_at is not None and e.processed_at >= e.created_at for e in events)
    assert all(e.attempts == 1 for e in events), [(e.event_type, e.attempts) for e in events]

    # Every handler of every event ran once (the daily counts among them), recorded with the event's tenant.
    processed = stack.rows(select(ProcessedEvent.event_id, ProcessedEvent.handler, ProcessedEvent.tenant_id))
    assert sorted((p.event_id, p.handler) for p in processed) == expected_handlings(events)
    assert {(e.event_id, "daily_stats") for e in created} <= {(p.event_id, p.handler) for p in processed}
    assert {p.tenant_id for p in processed} == {seed.acme_id}

    stats = stack.rows(select(DailyTicketStats.__table__))
    assert [(s.tenant_id, s.created) for s in stats] == [(seed.acme_id, total)]
    assert stats[0].day in {e.created_at.date() for e in created} | {date.today()}

    # One job per event, each run once and succeeded, on behalf of the ticket's tenant.
    wait_for(lambda: stack.scalar(select(func.count()).select_from(JobExecution)
                                  .where(JobExecution.task_name == "ticket.process_event",
                                         JobExecution.state != "succeeded")) == 0,
             10, "the jobs to record success")
    jobs = stack.rows(select(JobExecution.__table__).where(JobExecution.task_name == "ticket.process_event"))
    assert len(jobs) == len(events)
    assert {(j.state, j.attempt, j.tenant_id) for j in jobs} == {("succeeded", 1, seed.acme_id)}
    assert sorted(j.args["args"][0] for j in jobs) == sorted(e.event_id for e in events)
    assert all(j.duration_ms is not None and j.finished_at is not None and j.lease_expires_at is None for j in jobs)
    assert worker.alive


@pytest.mark.parametrize("broker", ["sqlite"], indirect=True)  # the races are in the database, not the broker
def test_a_backlog_delivered_twice_to_parallel_workers_counts_each_event_once(stack):
    """Delivery is at least once (a relay may resend an event the queue still holds) and worker threads run
    side by side: each event has its effect once, and no event's effect is lost to another's."""
    web = stack.start_web()
    seed = stack.seed
    sent: set[str] = set()
    for i in range(8):
        assert api_create_ticket(web, seed.acme_token, f"Twice {i}").status_code == 201
        # The web app queued the ticket's events; queue each once more, right behind the first,
        # so that two worker threads take both copies at the same time.
        for event in stack.rows(select(OutboxEvent.event_id, OutboxEvent.tenant_id)):
            if event.event_id not in sent:
                stack.enqueue("ticket.process_event", event.event_id, event.tenant_id)
                sent.add(event.event_id)
    # No periodic relay here: it would add a third copy of whatever is still queued after the grace period.
    stack.start_worker("--no-periodic", workers=4)

    def settled():
        jobs = stack.rows(select(JobExecution.state).where(JobExecution.task_name == "ticket.process_event"))
        return len(jobs) == 2 * len(sent) and all(j.state in ("succeeded", "failed") for j in jobs)

    wait_for(settled, 60, "both copies of every event to be run", on_timeout=stack.logs)
    events = stack.rows(select(OutboxEvent.__table__))
    assert all(e.processed_at is not None for e in events)
    created = [e.event_id for e in events if e.event_type == "ticket.created"]
    processed = stack.rows(select(ProcessedEvent.event_id, ProcessedEvent.handler))
    assert sorted((p.event_id, p.handler) for p in processed) == expected_handlings(events)
    assert [s.created for s in stack.rows(select(DailyTicketStats.created))] == [len(created)]
    jobs = stack.rows(select(JobExecution.__table__).where(JobExecution.task_name == "ticket.process_event"))
    assert Counter(j.args["args"][0] for j in jobs) == {e.event_id: 2 for e in events}
    # A copy that lost a race may have needed a retry (a unique key said no), but none failed.
    assert {j.state for j in jobs} == {"succeeded"}
