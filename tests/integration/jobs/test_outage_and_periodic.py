"""Two consumers share a Redis broker that goes away for a while.

One run (about 70 s: the periodic jobs run once a minute) serves two tests:

* the outbox relay: tickets made while Redis is down are saved, their events
  wait in the outbox, and once Redis is back the relay running in the
  consumers hands each over once and its effect happens once;
* periodic jobs: both consumers schedule them, and each (task, minute slot)
  runs exactly once — the other consumer finds the slot taken.

The broker is a redis-server of the test's own on a spare port, stopped and
started again on the same port; the machine's Redis is never touched.
"""
from __future__ import annotations

import re
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select

from app.models import DailyTicketStats, JobExecution, OutboxEvent, PeriodicRun, ProcessedEvent
from tests.integration.jobs.harness import (Browserless, Proc, RedisServer, Stack, WebServer, api_create_ticket,
                                            expected_handlings, wait_for)

API_TICKETS = 3
PAGE_TICKETS = 2
SKIPPED = re.compile(r"periodic (\S+) slot (\d+) already run by another consumer")


@dataclass
class OutageRun:
    stack: Stack
    web: WebServer
    consumers: list[Proc]
    api_statuses: list[int] = field(default_factory=list)
    page_statuses: list[int] = field(default_factory=list)
    outbox_during_outage: list = field(default_factory=list)
    dashboard_during_outage: str = ""
    follow_ups_before_outage: int = 0
    redis_back_at: float = 0.0
    events_processed_at: float = 0.0


def _count(stack: Stack, statement) -> int:
    return stack.scalar(select(func.count()).select_from(statement.subquery()))


def _relay_follow_ups(stack: Stack) -> int:
    return _count(stack, select(JobExecution.id).where(JobExecution.task_name == "maintenance.relay_outbox_again",
                                                       JobExecution.state == "succeeded"))


@pytest.fixture(scope="module")
def outage_run(tmp_path_factory):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    tmp = tmp_path_factory.mktemp("outage")
    redis = RedisServer(tmp).start()
    stack = None
    try:
        stack = Stack(tmp, "redis", redis.url)
        # Both consumers run their periodic jobs when they start and every 60 s after: start them
        # early enough in a minute that both of them fall in the same minute slot both times.
        while not 1 <= time.gmtime().tm_sec <= 50:
            time.sleep(0.5)
        web = stack.start_web(ready=False)
        consumers = [stack.start_worker(ready=False), stack.start_worker(ready=False)]
        for consumer in consumers:
            consumer.wait_for_log("Huey consumer started", timeout=60)
        web.wait_ready()
        run = OutageRun(stack, web, consumers)

        # The start-up slot's relay (one consumer's) schedules a follow-up 30 s later.
        wait_for(lambda: _relay_follow_ups(stack) >= 1, 45, "the relay's 30-second follow-up", interval=0.5,
                 on_timeout=stack.logs)
        time.sleep(3)  # a second follow-up (a second relay in the slot) would have run by now
        run.follow_ups_before_outage = _relay_follow_ups(stack)

        redis.stop()
        for i in range(API_TICKETS):
            run.api_statuses.append(api_create_ticket(web, stack.seed.acme_token, f"During the outage {i}").status_code)
        admin = Browserless(web, stack.seed.acme_admin, stack.seed.password)
        for i in range(PAGE_TICKETS):
            run.page_statuses.append(admin.create_ticket(f"Filed on the page during the outage {i}").status_code)
        run.dashboard_during_outage = admin.session.get(web.url + "/admin/jobs", timeout=20).text
        time.sleep(2)  # the consumers keep polling the dead broker; nothing may be processed meanwhile
        run.outbox_during_outage = stack.rows(select(OutboxEvent.__table__))

        redis.start()  # same port: the consumers and the web app reconnect by themselves
        run.redis_back_at = time.time()
        wait_for(lambda: _count(stack, select(OutboxEvent.id).where(OutboxEvent.processed_at.is_(None))) == 0,
                 90, "the relay to hand the events over once Redis is back", interval=0.5, on_timeout=stack.logs)
        run.events_processed_at = time.time()
        time.sleep(2)  # a second hand-over, if any, would show by now
        yield run
    finally:
        if stack is not None:
            stack.close()
        redis.stop()


def test_events_made_while_redis_is_down_are_relayed_once_it_is_back(outage_run):
    run, stack, seed = outage_run, outage_run.stack, outage_run.stack.seed
    total = API_TICKETS + PAGE_TICKETS
    # The requests succeeded while the broker was down, and their events waited in the outbox.
    assert run.api_statuses == [201] * API_TICKETS
    assert run.page_statuses == [302] * PAGE_TICKETS
    assert "The queue broker is unreachable" in run.dashboard_during_outage
    assert "queue unavailable" in run.web.proc.log()
    assert len(run.outbox_during_outage) == total
    assert all(e.dispatched_at is None and e.processed_at is None for e in run.outbox_during_outage)

    # Once Redis was back the relay sent each event once, and each effect happened once.
    events = stack.rows(select(OutboxEvent.__table__))
    assert len(events) == total and {e.event_type for e in events} == {"ticket.created"}
    assert all(e.processed_at.timestamp() >= run.redis_back_at - 1 for e in events)
    assert [e.attempts for e in events] == [1] * total
    processed = stack.rows(select(ProcessedEvent.event_id, ProcessedEvent.handler))
    assert sorted((p.event_id, p.handler) for p in processed) == expected_handlings(events)
    stats = stack.rows(select(DailyTicketStats.tenant_id, DailyTicketStats.created))
    assert [(s.tenant_id, s.created) for s in stats] == [(seed.acme_id, total)]
    jobs = stack.rows(select(JobExecution.__table__).where(JobExecution.task_name == "ticket.process_event"))
    assert sorted(j.args["args"][0] for j in jobs) == sorted(e.event_id for e in events)
    assert {(j.state, j.attempt) for j in jobs} == {("succeeded", 1)}
    relays = [line for c in run.consumers for line in c.log().splitlines() if "outbox relay sent" in line]
    assert len(relays) == 1 and f"outbox relay sent {total} event(s)" in relays[0], relays
    # The consumers lived through the outage.
    assert all(c.alive for c in run.consumers)
    assert all("Error reading from queue" in c.log() for c in run.consumers)


def test_two_consumers_run_each_periodic_slot_exactly_once(outage_run):
    run, stack = outage_run, outage_run.stack
    claims = stack.rows(select(PeriodicRun.task_name, PeriodicRun.slot, PeriodicRun.claimed_by))
    per_task: dict[str, list[int]] = {}
    for claim in claims:
        per_task.setdefault(claim.task_name, []).append(int(claim.slot))
    assert Counter((c.task_name, c.slot) for c in claims).most_common(1)[0][1] == 1

    # The start-up minute and the next one (the test ran across a minute boundary).
    relay_slots = sorted(per_task["maintenance.relay_outbox"])
    assert len(relay_slots) >= 2 and relay_slots[1] - relay_slots[0] == 60, relay_slots
    assert all(s % 60 == 0 for s in relay_slots)
    assert sorted(per_task["maintenance.recover_stalled_jobs"]) == relay_slots

    # Both consumers scheduled every slot; for each, the one that lost the insert skipped it.
    skipped = Counter(m.groups() for c in run.consumers for m in SKIPPED.finditer(c.log()))
    for task in ("maintenance.relay_outbox", "maintenance.recover_stalled_jobs"):
        for slot in relay_slots[:2]:
            assert skipped[(task, str(slot))] == 1, (task, slot, skipped)
    consumer_ids = {c.claimed_by.rsplit(":", 1)[1] for c in claims}
    assert consumer_ids <= {str(c.pid) for c in run.consumers}

    # One relay in the first slot: one 30-second follow-up, not two.
    assert run.follow_ups_before_outage == 1
