"""Across real processes: a Huey consumer SIGKILLed mid-delivery delays the delivery, never drops it;
and a real consumer schedules a delivery's retries itself.

The test process and two consumer processes (``huey_worker.py``) share the test
database and a Huey SQLite queue file. The receiver sleeps on the first
request; the first consumer is killed while it waits for the answer. Its
Huey message is gone with it; the delivery row still says "in flight" (a
lease). Once the lease expires, the sweeper of the second consumer finds
the delivery, records the lost attempt and sends it again, with the same
webhook-id.

The first consumer runs without periodic jobs, so the second one's start-up
run owns this minute's sweeper slot (each periodic slot runs once across
consumers) and the test does not wait for the next minute.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.extensions import db
from app.models.base import utcnow
from app.queue import configure_queue
from tests.conftest import make_ticket
from tests.integration.webhooks.support import Answer, add_endpoint, attempts_of, deliveries_of

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT_SECONDS = 1  # WEBHOOK_TIMEOUT_SECONDS of the consumers: their lease is 2 × 1 + 5 s


@contextmanager
def real_queue(app, path: Path):
    """Point this process's Huey at the consumers' SQLite queue (instead of running jobs inline)."""
    configure_queue({"REDIS_URL": "", "HUEY_SQLITE_PATH": str(path), "HUEY_IMMEDIATE": False})
    try:
        yield
    finally:
        configure_queue(app.config)


def _consumer(env: dict, log: Path, *extra: str) -> subprocess.Popen:
    with log.open("ab") as output:  # the child writes through its own copy of the descriptor
        return subprocess.Popen([sys.executable, str(ROOT / "huey_worker.py"), "--workers", "2", *extra],
                                cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)


def _wait(condition, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}; consumer log:\n{log.read_text()[-4000:]}")


def _stop(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_worker_killed_mid_delivery_delays_it_never_drops_it(app, acme, receiver, tmp_path):
    queue, log = tmp_path / "queue.db", tmp_path / "consumers.log"
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "HUEY_SQLITE_PATH": str(queue),
           "HUEY_IMMEDIATE": "0", "REDIS_URL": "", "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
           "WEBHOOK_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS), "WEBHOOK_RETRY_SCHEDULE": "1,1,1,1",
           "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
    receiver.script(Answer(200, delay=120), Answer(200))  # the first request never gets its answer in time
    first = second = None
    try:
        with app.app_context():
            endpoint, secret = add_endpoint(acme, receiver.url(), events=["ticket.created"])
            with real_queue(app, queue):
                make_ticket(acme)  # the event goes to the real queue

        first = _consumer(env, log, "--no-periodic")
        _wait(lambda: receiver.requests, 60, "the first delivery attempt", log)
        with app.app_context():
            delivery = deliveries_of(endpoint.id)[0]
            assert (delivery.status, delivery.attempt_count) == ("pending", 1)
            assert delivery.lease_expires_at > utcnow()  # in flight
            db.session.remove()
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL

        with app.app_context():
            lease = deliveries_of(endpoint.id)[0].lease_expires_at
            db.session.remove()
        _wait(lambda: utcnow() > lease, 30, "the lease of the killed attempt to expire", log)
        second = _consumer(env, log)  # a normal consumer: its sweeper runs at start, then each minute

        def delivered():
            with app.app_context():
                try:
                    return deliveries_of(endpoint.id)[0].status == "succeeded"
                finally:
                    db.session.remove()

        _wait(delivered, 60, "the sweeper to deliver again", log)
    finally:
        if first is not None and first.poll() is None:
            first.kill()
            first.wait()
        _stop(second)

    assert len(receiver.requests) == 2
    lost, sent = receiver.requests
    assert lost.headers["webhook-id"] == sent.headers["webhook-id"]  # the receiver's idempotency key
    lost.verify(secret)
    sent.verify(secret)
    with app.app_context():
        delivery = deliveries_of(endpoint.id)[0]
        assert delivery.attempt_count == 2 and delivery.lease_expires_at is None
        attempts = [(a.number, a.succeeded, a.status_code) for a in attempts_of(delivery.id)]
        assert attempts == [(1, False, None), (2, True, 200)]
        assert "worker stopped" in attempts_of(delivery.id)[0].error
        db.session.remove()


def test_a_real_consumer_retries_on_its_schedule(app, acme, receiver, tmp_path):
    """500, then 503, then 200: the consumer schedules each retry itself (Huey eta), 1 s apart here."""
    queue, log = tmp_path / "queue.db", tmp_path / "consumer.log"
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "HUEY_SQLITE_PATH": str(queue),
           "HUEY_IMMEDIATE": "0", "REDIS_URL": "", "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
           "WEBHOOK_RETRY_SCHEDULE": "1,1,1,1", "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
    receiver.script(500, 503, 200)
    consumer = None
    try:
        with app.app_context():
            endpoint, secret = add_endpoint(acme, receiver.url(), events=["ticket.created"])
            with real_queue(app, queue):
                make_ticket(acme)
        consumer = _consumer(env, log, "--no-periodic")  # no sweeper: only the scheduled retries

        def delivered():
            with app.app_context():
                try:
                    return [d.status for d in deliveries_of(endpoint.id)] == ["succeeded"]
                finally:
                    db.session.remove()

        _wait(delivered, 60, "the third attempt", log)
    finally:
        _stop(consumer)

    first, second, third = receiver.requests
    assert 0.8 < second.at - first.at < 5 and 0.8 < third.at - second.at < 5  # 1 s ± 10 %, plus scheduling
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    third.verify(secret)
    with app.app_context():
        delivery = deliveries_of(endpoint.id)[0]
        assert [(a.number, a.status_code) for a in attempts_of(delivery.id)] == [(1, 500), (2, 503), (3, 200)]
        db.session.remove()
