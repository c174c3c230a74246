"""Spans and their parent-child links across the queue (OpenTelemetry SDK, in-memory exporter)."""
from __future__ import annotations

import threading

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app import create_app
from app.extensions import db
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


def test_sql_statements_are_client_spans_of_the_request(traced_app, acme):
    traced, exporter = traced_app
    client = traced.test_client()
    login(client, acme.agent)
    exporter.clear()
    assert client.get("/tickets").status_code == 200

    spans = exporter.get_finished_spans()
    request_span = next(s for s in spans if s.name.startswith("GET") and s.kind.name == "SERVER")
    sql = [s for s in spans if "db.query.text" in s.attributes]
    assert sql, [s.name for s in spans]
    with traced.app_context():
        dialect = db.engine.dialect.name
    for statement in sql:
        assert statement.kind.name == "CLIENT"
        assert statement.parent.span_id == request_span.context.span_id  # the view's queries, not a new trace
        assert statement.attributes["db.system.name"] == dialect
        assert statement.name.split()[0] == statement.attributes["db.operation.name"]
    assert any(s.attributes["db.operation.name"] == "SELECT" and "tickets" in s.attributes["db.query.text"]
               for s in sql)
    # No span for taking a pooled connection: one per request said nothing and cost as much as a statement.
    assert not [s for s in spans if s.name == "connect"]


def test_a_failing_statement_is_an_error_span_without_the_values_it_carried(traced_app):
    """PostgreSQL repeats the offending values in its message ("Key (secret)=(…) already exists"): the span
    keeps the error's class and code only."""
    from sqlalchemy import text as sql_text
    from sqlalchemy.exc import IntegrityError

    traced, exporter = traced_app
    with traced.app_context():
        db.session.execute(sql_text("CREATE TEMPORARY TABLE trace_probe (secret VARCHAR(40) UNIQUE)"))
        db.session.execute(sql_text("INSERT INTO trace_probe VALUES (:secret)"), {"secret": "s3cr3t-value"})
        exporter.clear()
        with pytest.raises(IntegrityError) as raised:
            db.session.execute(sql_text("INSERT INTO trace_probe VALUES (:secret)"), {"secret": "s3cr3t-value"})
        db.session.rollback()
    failed = [s for s in exporter.get_finished_spans() if "trace_probe" in s.attributes.get("db.query.text", "")]
    assert len(failed) == 1
    assert failed[0].status.status_code.name == "ERROR"
    assert failed[0].attributes["error.type"].endswith(type(raised.value.orig).__qualname__)
    assert failed[0].attributes.get("db.response.status_code")  # SQLSTATE 23505, or SQLITE_CONSTRAINT_UNIQUE
    recorded = [failed[0].status.description or "", *map(str, failed[0].attributes.values())]
    assert all("s3cr3t-value" not in text for text in recorded), recorded
