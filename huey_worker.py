"""Run the Huey consumer inside the Ticketry app context.

    python huey_worker.py [--workers N] [--no-periodic]

SIGTERM (docker stop, systemd) is graceful: running tasks finish before the
consumer exits; a task that cannot finish (SIGKILL) keeps its "running" record
past its lease and the stalled-job check puts it back on the queue.
Periodic jobs may be scheduled by every consumer: each slot runs once, guarded
by a unique (task, slot) row in periodic_runs. --no-periodic turns a consumer's
scheduler off, for deployments that want one scheduling consumer.
"""
from __future__ import annotations

import argparse
import logging
import os

from app import create_app
from app.queue import backend_name, huey
from app.tasks.base import bind_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Ticketry background worker (Huey consumer).")
    parser.add_argument("--workers", type=int, default=None, help="worker threads (default: HUEY_WORKERS)")
    parser.add_argument("--no-periodic", action="store_true", help="do not schedule periodic jobs")
    parser.add_argument("--shutdown-timeout", type=float, default=60.0,
                        help="seconds SIGTERM waits for running tasks")
    args = parser.parse_args(argv)

    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app()
    if app.config.get("HUEY_IMMEDIATE"):
        raise SystemExit("HUEY_IMMEDIATE is set: a consumer needs a real queue.")
    bind_app(app)
    if app.config.get("WORKER_METRICS_PORT"):
        from app.observability.metrics import serve_worker_metrics

        serve_worker_metrics(app.config["WORKER_METRICS_PORT"])
    workers = args.workers or app.config["HUEY_WORKERS"]
    periodic = not args.no_periodic and os.environ.get("HUEY_PERIODIC", "1") not in ("0", "false", "no")
    logging.getLogger("ticketry.worker").info(
        "consumer starting: backend=%s workers=%d periodic=%s", backend_name(), workers, periodic)
    from app.tasks.search import enqueue_startup_sync

    enqueue_startup_sync()  # the search indexes catch up with whatever they missed (incremental, not a rebuild)
    consumer = huey.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=periodic,
        initial_delay=0.05,
        max_delay=1.0,
        graceful_signal="TERM",
        shutdown_timeout=args.shutdown_timeout,
        check_worker_health=True,
    )
    consumer.run()


if __name__ == "__main__":
    main()
