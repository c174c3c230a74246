"""Running Huey's schedule in process, for tests of delayed work (retries, backoff)."""
from __future__ import annotations

import time

from app.queue import huey


def run_scheduled(until=None, timeout: float = 10.0) -> bool:
    """What the consumer's scheduler does, in process: run scheduled tasks as they fall due.

    Stops when ``until()`` is true, or when nothing is scheduled; needs an app context.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for task in huey.read_schedule():
            huey.execute(task)
        if until is not None and until():
            return True
        if until is None and huey.scheduled_count() == 0:
            return True
        time.sleep(0.02)
    return False
