"""Spans and their parent-child links across the queue (OpenTelemetry SDK, in-memory exporter)."""
from __future__ import annotations

import threading

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app import create_app
from app.observability.tracing import setup_provider
from app.queue import configure_queue, huey
from tests.conftest import login


@pytest.fixture
def traced_app(app, tmp_path):
    """A second app on the same database, with a real (SQLite) queue and tracing to memory."""
    exporter = InMemorySpanExporter()
    setup_provider(exporter=exporter)  # before the app exists, as create_app expects
    traced = create_app({**app.config, "HUEY_IMMEDIATE": False, "HUEY_SQLITE_PATH": str(tmp_path / "huey.db")})
    yield traced, exporter
    configure_queue(app.config)  # the rest of the suite runs jobs inline again
    exporter.clear()


def _run_queued_jobs_in_another_thread():
    """Execute what the request enqueued as a consumer would: deserialised, in a thread with no context."""
    done = []

    def consume():
        while (task := huey.dequeue()) is not None:
            huey.execute(task)
            done.append(task.name)

    worker = threading.Thread(target=consume)
    worker.start()
    worker.join(30)
    return done


def test_job_span_descends_from_the_request_that_enqueued_it(traced_app, acme):
    traced, exporter = traced_app
    client = traced.test_client()
    login(client, acme.agent)
    exporter.clear()
    response = client.post("/tickets/new", data={"subject": "Traced", "description": "d", "requester_name": "R",
                                                  "requester_email": "r@example.com", "priority": "normal"})
    assert response.status_code == 302
    ran = _run_queued_jobs_in_another_thread()
    assert "ticket.process_event" in ran

    spans = exporter.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans}
    request_span = next(s for s in spans if s.name.startswith("POST") and "tickets/new" in s.name)
    create_span = next(s for s in spans if s.name == "ticket.create")
    job_spans = [s for s in spans if s.name == "job ticket.process_event"]
    assert job_spans, [s.name for s in spans]
    assert create_span.parent.span_id == request_span.context.span_id

    for job_span in job_spans:
        assert job_span.context.trace_id == request_span.context.trace_id
        ancestor, hops = job_span, 0
        while ancestor.parent is not None and ancestor.parent.span_id in by_id and hops < 10:
            ancestor, hops = by_id[ancestor.parent.span_id], hops + 1
        assert ancestor is request_span, "the job span must descend from the request span"
    # The job's own database work is traced inside the job span.
    job_ids = {s.context.span_id for s in job_spans}
    assert any(s.parent is not None and s.parent.span_id in job_ids for s in spans)


def test_relay_span_is_recorded(traced_app, acme):
    from app.tasks.maintenance import relay_outbox_once

    traced, exporter = traced_app
    with traced.app_context():
        relay_outbox_once()
    assert any(s.name == "outbox.relay" for s in exporter.get_finished_spans())


def test_sla_sweep_is_traced(app, acme):
    from app.services.sla.sweep import sweep_breaches

    exporter = InMemorySpanExporter()
    setup_provider(exporter=exporter)
    with app.app_context():
        sweep_breaches()
    assert [s.name for s in exporter.get_finished_spans()].count("sla.sweep") == 1
