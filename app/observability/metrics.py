"""Prometheus metrics: HTTP (prometheus-flask-exporter) and the helpdesk's own numbers.

Counters and histograms live at module level so services and jobs record them
without Flask. Gauges that describe shared state (queue depth, outbox backlog)
are read from the database and broker at scrape time by a collector.

Under gunicorn with several workers set PROMETHEUS_MULTIPROC_DIR (the compose
stack and deploy/gunicorn.conf.py do): every process writes its samples there
and /metrics aggregates them. The worker serves its own counters on
WORKER_METRICS_PORT.
"""
from __future__ import annotations

import hmac
import ipaddress
import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

JOB_EXECUTIONS = Counter("ticketry_job_executions_total", "Job attempts by task and outcome", ["task", "state"])
JOB_SECONDS = Histogram("ticketry_job_duration_seconds", "Job attempt duration", ["task"])
SLA_EVENTS = Counter("ticketry_sla_events_total", "SLA warnings and breaches escalated", ["kind"])
WEBHOOK_DELIVERIES = Counter("ticketry_webhook_deliveries_total", "Webhook delivery attempts by outcome", ["outcome"])
WEBHOOK_SECONDS = Histogram("ticketry_webhook_delivery_seconds", "Webhook delivery attempt latency")
EMAILS = Counter("ticketry_emails_total", "Emails by outcome", ["outcome"])
SEARCH_SECONDS = Histogram("ticketry_search_seconds", "Search query latency", ["backend", "kind"],
                           buckets=(.002, .005, .01, .02, .03, .05, .1, .25, .5, 1, 2.5))
SEARCH_FALLBACKS = Counter("ticketry_search_fallbacks_total", "Queries answered by SQL because Meilisearch failed")


def job_executed(task: str, state: str, seconds: float) -> None:
    JOB_EXECUTIONS.labels(task=task, state=state).inc()
    JOB_SECONDS.labels(task=task).observe(seconds)


class QueueCollector:
    """Queue depth, scheduled jobs, executions by state and outbox backlog, read at scrape time."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        from app.services.queue_stats import queue_stats

        with self.app.app_context():
            try:
                stats = queue_stats(None)
            except Exception:  # database down: the health check says so; no gauges this scrape
                return
            finally:
                from app.extensions import db

                db.session.remove()
        depth = GaugeMetricFamily("ticketry_queue_depth", "Jobs waiting in the queue")
        if stats.queue_depth is not None:
            depth.add_metric([], stats.queue_depth)
        yield depth
        scheduled = GaugeMetricFamily("ticketry_queue_scheduled", "Jobs scheduled for later (retries, delays)")
        if stats.scheduled is not None:
            scheduled.add_metric([], stats.scheduled)
        yield scheduled
        backlog = GaugeMetricFamily("ticketry_outbox_backlog", "Outbox events not yet processed")
        backlog.add_metric([], stats.outbox_backlog)
        yield backlog
        by_state = GaugeMetricFamily("ticketry_job_executions", "Recorded job executions by state", labels=["state"])
        for state, count in sorted(stats.by_state.items()):
            by_state.add_metric([state], count)
        yield by_state


def _registry(app) -> CollectorRegistry:
    """What one scrape shows: every process's samples (multiprocess mode) or this process's."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        for source in (REGISTRY, app.extensions["prometheus_metrics"].registry):
            for collector in list(source._collector_to_names):
                registry.register(collector)
    registry.register(QueueCollector(app))
    return registry


def scrape_allowed(remote_addr: str | None, authorization: str, token: str) -> bool:
    """METRICS_TOKEN set: the bearer token must match. Unset: loopback clients only."""
    if token:
        expected = f"Bearer {token}"
        return hmac.compare_digest(authorization.encode(), expected.encode())
    try:
        return ipaddress.ip_address(remote_addr or "").is_loopback
    except ValueError:
        return False


def register_metrics(app) -> None:
    from flask import Response, abort, request
    from prometheus_flask_exporter import PrometheusMetrics

    if "prometheus_metrics" in app.extensions:
        return
    # One registry per app: tests build several apps in one process. Under gunicorn with
    # PROMETHEUS_MULTIPROC_DIR set, prometheus_client backs every value with files in that
    # directory whatever the registry, and /metrics aggregates them.
    exporter = PrometheusMetrics(app, path=None, registry=CollectorRegistry(), group_by="endpoint",
                                 excluded_paths=["^/metrics", "^/static/", "^/health/live"])
    app.extensions["prometheus_metrics"] = exporter

    @app.get("/metrics")
    @exporter.do_not_track()
    def metrics():
        if not scrape_allowed(request.remote_addr, request.headers.get("Authorization", ""),
                              app.config.get("METRICS_TOKEN", "")):
            abort(403 if not app.config.get("METRICS_TOKEN") else 401)
        return Response(generate_latest(_registry(app)), mimetype=CONTENT_TYPE)


def serve_worker_metrics(port: int) -> None:
    """The worker's own counters on http://0.0.0.0:<port>/metrics (prometheus_client's server)."""
    from prometheus_client import start_http_server

    start_http_server(port)
