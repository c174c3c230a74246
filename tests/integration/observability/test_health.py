"""/health follows the configuration: Redis up, down, not configured."""
from __future__ import annotations

import socket
import subprocess
import time

import pytest

from app import create_app
from app.queue import configure_queue


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of our own on a spare port (the shared one on 6379 is never stopped)."""
    port = _free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port, proc
    if proc.poll() is None:
        proc.terminate()
        proc.wait(5)


def _health(app_config, **overrides):
    probe = create_app({**app_config, "HUEY_IMMEDIATE": False, **overrides})
    response = probe.test_client().get("/health")
    return response.status_code, response.get_json()


def test_health_without_redis_reports_not_configured_and_is_ready(app):
    status, body = _health(app.config, REDIS_URL="")
    configure_queue(app.config)
    assert status == 200
    assert body["status"] == "ok"
    assert body["database"] == "up" and body["queue"] == "up"
    assert body["redis"] == "not configured"
    assert body["search"] == "sql" and body["mail"] == "stored"
    assert set(body) == {"status", "timestamp", "version", "database", "redis", "queue", "search", "mail"}


def test_health_with_redis_up_then_down(app, own_redis):
    port, proc = own_redis
    url = f"redis://127.0.0.1:{port}/0"
    try:
        status, body = _health(app.config, REDIS_URL=url)
        assert status == 200 and body["redis"] == "up" and body["queue"] == "up"
        proc.terminate()
        proc.wait(5)
        status, body = _health(app.config, REDIS_URL=url)
        assert status == 503
        assert body["status"] == "unavailable" and body["redis"] == "down" and body["queue"] == "down"
        assert body["database"] == "up"
    finally:
        configure_queue(app.config)


def test_liveness_needs_nothing(app):
    assert app.test_client().get("/health/live").get_json() == {"status": "ok"}
