"""Delivery numbers: per endpoint for the console, instance-wide (or per tenant) for the metrics endpoint.

Rates and latencies are over attempts: an endpoint that answers 500 twice then
200 has a success rate of 1/3 for that delivery, which is what its owner needs
to see. Percentiles are nearest-rank, computed with a portable ORDER BY/OFFSET.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from app.extensions import db
from app.models import WebhookAttempt, WebhookEndpoint
from app.models.base import utcnow
from app.repositories.unit_of_work import UnitOfWork
from app.repositories.webhooks import (WindowStats, count_by_status, instance_latency_percentile,
                                       instance_window_stats)
from app.services.webhooks.endpoints import repository, require_admin

DAY, WEEK = timedelta(hours=24), timedelta(days=7)


@dataclass
class EndpointHealth:
    endpoint: WebhookEndpoint
    day: WindowStats
    week: WindowStats
    p95_latency_ms: int | None
    last_attempt: WebhookAttempt | None
    dead: int

    @property
    def avg_latency_ms(self) -> float | None:
        return self.day.avg_latency_ms


def endpoint_health(uow: UnitOfWork) -> list[EndpointHealth]:
    """Every endpoint of the tenant with its 24 h / 7 d success rate, 24 h latency, last attempt, dead letters."""
    require_admin(uow)
    repo = repository(uow)
    now = utcnow()
    day, week = repo.window_stats(now - DAY), repo.window_stats(now - WEEK)
    last, dead = repo.last_attempts(), repo.dead_counts()
    return [
        EndpointHealth(
            endpoint=e, day=day.get(e.id, WindowStats()), week=week.get(e.id, WindowStats()),
            p95_latency_ms=repo.latency_percentile(e.id, now - DAY, 0.95) if e.id in day else None,
            last_attempt=last.get(e.id), dead=dead.get(e.id, 0),
        )
        for e in repo.all_endpoints()
    ]


@dataclass
class DeliveryMetrics:
    window_seconds: int
    attempts: int
    succeeded: int
    success_rate: float | None  # None without attempts in the window
    avg_latency_ms: float | None
    p95_latency_ms: int | None
    deliveries_by_status: dict[str, int]  # pending, retrying, succeeded, dead: all time

    @property
    def dead_letters(self) -> int:
        return self.deliveries_by_status.get("dead", 0)


def delivery_metrics(tenant_id: int | None = None, window: timedelta = DAY) -> DeliveryMetrics:
    """Success rate and latency of attempts in the last ``window``, and deliveries by status.

    For the metrics issue (Prometheus gauges): ``tenant_id=None`` covers the
    whole instance. Needs an app context; reads only.
    """
    since = utcnow() - window
    stats = instance_window_stats(db.session, since, tenant_id)
    by_status = count_by_status(db.session, tenant_id)
    return DeliveryMetrics(
        window_seconds=int(window.total_seconds()),
        attempts=stats.attempts, succeeded=stats.succeeded, success_rate=stats.success_rate,
        avg_latency_ms=stats.avg_latency_ms,
        p95_latency_ms=instance_latency_percentile(db.session, since, 0.95, tenant_id),
        deliveries_by_status={status: by_status.get(status, 0)
                              for status in ("pending", "retrying", "succeeded", "dead")},
    )
