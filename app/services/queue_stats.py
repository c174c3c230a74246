"""Queue numbers for the jobs dashboard and the metrics endpoint."""
from __future__ import annotations

from app.queue import backend_name, huey
from app.services import events
from app.services import jobs as job_records


def queue_stats(tenant_id: int | None) -> job_records.QueueStats:
    """Instance-wide queue numbers (no other tenant's details) and this tenant's execution counts."""
    depth = scheduled = None
    broker_error = None
    try:
        depth, scheduled = huey.pending_count(), huey.scheduled_count()
    except Exception as exc:  # broker down: show it, do not fail the page
        broker_error = f"{type(exc).__name__}: {exc}"[:200]
    instance = job_records.state_counts(None)
    return job_records.QueueStats(
        backend=backend_name(),
        queue_depth=depth,
        scheduled=scheduled,
        running=instance.get("running", 0),
        by_state=job_records.state_counts(tenant_id),
        outbox_backlog=events.outbox_backlog(),
        broker_error=broker_error,
    )
