"""Search jobs: the incremental index sync, at worker start and every 15 minutes.

The per-event index updates are outbox handlers (app/services/search/indexing.py)
run by the ticket job; importing app.services.search registers them.
"""
from __future__ import annotations

import logging

from huey import crontab

from app.services.search import sync
from app.tasks.base import job, periodic

log = logging.getLogger(__name__)


def sync_once() -> None:
    for result in sync.sync_all():
        if result.tickets or result.comments or result.removed or result.remote:
            log.info("search sync: %s", result.line())


@job(retries=5)
def sync_search_index() -> None:
    """Catch the indexes up with the database (huey_worker.py enqueues it when a consumer starts)."""
    sync_once()


def enqueue_startup_sync() -> None:
    """Called by huey_worker.py as a consumer starts; a queue that cannot take it now is only logged."""
    try:
        sync_search_index()
    except Exception as exc:  # the periodic sync runs within 15 minutes anyway
        log.warning("search: could not enqueue the start-up index sync: %s", exc)


@periodic(crontab(minute="*/15"), name="search.sync_index", period_seconds=900)
def sync_search_index_periodically() -> None:
    sync_once()
