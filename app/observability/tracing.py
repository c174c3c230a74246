"""OpenTelemetry tracing: off unless an OTLP endpoint is configured (standard OTEL_* variables).

Instruments Flask, SQLAlchemy, Redis and outgoing HTTP (urllib/http.client),
and carries the trace context into Huey jobs (app/tasks/base.py), so one trace
shows the web request, the jobs it caused and the webhook delivery they made.
Services open their own spans with ``span("ticket.create", ...)``.

SQL statements are traced by three SQLAlchemy event listeners here (``trace_sql``),
not by opentelemetry-instrumentation-sqlalchemy: that package also opened a
"connect" span for every pool checkout and worked out the same connection
attributes again for every statement: tracing a statement cost more than twice as
much with it (docs/performance.md). One CLIENT span per statement, with the
stable database conventions: ``db.system.name``, ``db.namespace``,
``db.operation.name``, ``db.query.text`` (parameters are never recorded),
``server.address`` and ``server.port`` for server databases. A failed statement's
span says the error's class and SQLSTATE, never the driver's message: PostgreSQL's
repeats the row's values ("Key (email)=(…) already exists"). The listeners never
raise: a tracing fault must not fail or replace a query's own outcome.
"""
from __future__ import annotations

import logging
import os
import weakref
from contextlib import contextmanager
from pathlib import PurePath

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

tracer = trace.get_tracer("ticketry")
_log = logging.getLogger(__name__)
_configured = {"provider": None}


def tracing_requested() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def setup_provider(exporter=None, service_name: str | None = None) -> None:
    """Create this process's tracer provider once and instrument the libraries globally.

    SQL tracing listens on SQLAlchemy's ``Engine`` class, so engines made before this call are
    traced too. ``exporter`` (tests: InMemorySpanExporter) adds a synchronous exporter.
    """
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = _configured["provider"]
    if provider is None:
        name = service_name or os.environ.get("OTEL_SERVICE_NAME", "ticketry")
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        trace.set_tracer_provider(provider)
        _configured["provider"] = provider
        _instrument_libraries()
        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))


def configure_tracing(app) -> bool:
    """Called first by create_app: on when OTEL_* asks for it or a provider was set up (tests)."""
    if _configured["provider"] is None:
        if not tracing_requested():
            return False
        setup_provider()
    _instrument_app(app)
    return True


def _instrument_libraries() -> None:
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.urllib import URLLibInstrumentor

    trace_sql()
    RedisInstrumentor().instrument()
    URLLibInstrumentor().instrument()
    try:  # httpx, when installed
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument()
    except Exception:  # optional
        pass


def _instrument_app(app) -> None:
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    if not getattr(app, "_ticketry_traced", False):
        # No SQL commenter: its context is for opentelemetry-instrumentation-sqlalchemy, not used here.
        FlaskInstrumentor().instrument_app(app, excluded_urls="metrics,health/live,static/.*", enable_commenter=False)
        app._ticketry_traced = True


_engine_attributes: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def trace_sql() -> None:
    """A span around every SQL statement of every engine, those made before this call included."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "before_cursor_execute", _sql_started):
        event.listen(Engine, "before_cursor_execute", _sql_started)
        event.listen(Engine, "after_cursor_execute", _sql_ended)
        event.listen(Engine, "handle_error", _sql_failed)


def _attributes_of(engine) -> dict:
    """What is the same for every statement of an engine, worked out once."""
    attributes = _engine_attributes.get(engine)
    if attributes is None:
        url = engine.url
        system = engine.dialect.name
        namespace = PurePath(url.database).name if system == "sqlite" and url.database else url.database
        attributes = {"db.system.name": system}
        if namespace:
            attributes["db.namespace"] = namespace
        if url.host:
            attributes["server.address"] = url.host
        if url.port:
            attributes["server.port"] = url.port
        _engine_attributes[engine] = attributes
    return attributes


def _sql_started(conn, cursor, statement, parameters, context, executemany) -> None:
    try:
        common = _attributes_of(conn.engine)
        operation = statement.split(None, 1)[0].upper() if statement.strip() else "SQL"
        name = f"{operation} {common['db.namespace']}" if "db.namespace" in common else operation
        context._ticketry_span = tracer.start_span(
            name, kind=trace.SpanKind.CLIENT,
            attributes={**common, "db.operation.name": operation, "db.query.text": statement})
    except Exception:  # never fail a query for its trace
        _log.debug("SQL span not started", exc_info=True)


def _take_span(context):
    """The statement's open span, taken off its context: ended once, whatever comes after."""
    return context.__dict__.pop("_ticketry_span", None) if context is not None else None


def _sql_ended(conn, cursor, statement, parameters, context, executemany) -> None:
    current = _take_span(context)
    if current is not None:
        current.end()


def _sql_failed(exception_context) -> None:
    try:
        current = _take_span(exception_context.execution_context)
        if current is None:
            return
        error = exception_context.original_exception
        kind = type(error)
        current.set_attribute("error.type", f"{kind.__module__}.{kind.__qualname__}")
        code = getattr(error, "sqlstate", None) or getattr(error, "sqlite_errorname", None)
        if code:
            current.set_attribute("db.response.status_code", str(code))
        current.set_status(trace.Status(trace.StatusCode.ERROR, f"{kind.__qualname__} {code or ''}".strip()))
        current.end()
    except Exception:  # the query's own error must stay the one raised
        _log.debug("SQL span not ended", exc_info=True)


@contextmanager
def span(name: str, **attributes):
    """A span around an operation that matters (ticket update, sweep, delivery attempt…)."""
    with tracer.start_as_current_span(name) as current:
        for key, value in attributes.items():
            if value is not None:
                current.set_attribute(key, value)
        yield current


def current_carrier() -> dict:
    """The current trace context as W3C headers, to travel with a queued job."""
    carrier: dict = {}
    propagate.inject(carrier)
    return carrier


@contextmanager
def continued_from(carrier: dict | None, name: str, **attributes):
    """Run a job's work in a span whose parent is the span that enqueued it."""
    parent = propagate.extract(carrier or {})
    token = otel_context.attach(parent)
    try:
        with tracer.start_as_current_span(name, kind=trace.SpanKind.CONSUMER) as current:
            for key, value in attributes.items():
                if value is not None:
                    current.set_attribute(key, value)
            yield current
    finally:
        otel_context.detach(token)


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def traced(name: str):
    """Decorator form of span() for a service function."""
    from functools import wraps

    def decorator(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            with tracer.start_as_current_span(name):
                return fn(*args, **kwargs)

        return wrapper

    return decorator
