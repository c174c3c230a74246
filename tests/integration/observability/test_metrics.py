"""/metrics under a real gunicorn with two workers (multiprocess mode), and who may scrape it."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from app.observability.metrics import scrape_allowed

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, headers: dict | None = None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def gunicorn_server(tmp_path):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'web.db'}", "HUEY_SQLITE_PATH": str(tmp_path / "h.db"),
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"), "GUNICORN_BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": "2", "METRICS_TOKEN": "scrape-secret", "SECRET_KEY": "test", "REDIS_URL": ""}
    env.pop("TEST_DATABASE_URL", None)
    (tmp_path / "prom").mkdir()
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade", "heads"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--config", "deploy/gunicorn.conf.py",
                             "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if _get(base + "/health/live")[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("gunicorn did not start: " + proc.stderr.read().decode()[-2000:])
    yield base
    proc.terminate()
    proc.wait(15)


def test_metrics_aggregate_both_workers_with_names_and_labels(gunicorn_server):
    base = gunicorn_server
    for _ in range(30):
        _get(base + "/login")
        _get(base + "/tickets")  # redirect to login: 302
        _get(base + "/nowhere")  # 404
    status, text = _get(base + "/metrics", {"Authorization": "Bearer scrape-secret"})
    assert status == 200, text[:500]
    lines = text.splitlines()
    login_counts = [line for line in lines if line.startswith("flask_http_request_duration_seconds_count")
                    and 'endpoint="auth.login"' in line and 'method="GET"' in line and 'status="200"' in line]
    # 30 direct hits plus 30 redirects from /tickets that urllib follows, summed over both workers
    assert login_counts and float(login_counts[0].rsplit(" ", 1)[1]) == 60.0
    assert any('status="302"' in line and 'endpoint="tickets.queue"' in line for line in lines)
    assert any(line.startswith("flask_http_request_duration_seconds_bucket") for line in lines)
    for name in ("ticketry_queue_depth", "ticketry_outbox_backlog", "ticketry_queue_scheduled"):
        assert any(line.startswith(name + " ") for line in lines), name


def test_metrics_require_the_token(gunicorn_server):
    assert _get(gunicorn_server + "/metrics")[0] == 401
    assert _get(gunicorn_server + "/metrics", {"Authorization": "Bearer wrong"})[0] == 401


@pytest.mark.parametrize("addr, header, token, allowed", [
    ("127.0.0.1", "", "", True), ("::1", "", "", True), ("10.0.0.8", "", "", False),
    ("10.0.0.8", "Bearer t0k", "t0k", True), ("127.0.0.1", "", "t0k", False), ("127.0.0.1", "Bearer x", "t0k", False),
])
def test_who_may_scrape(addr, header, token, allowed):
    assert scrape_allowed(addr, header, token) is allowed


def test_domain_counters_after_a_job(app, acme):
    from tests.conftest import make_ticket

    with app.app_context():
        make_ticket(acme)
    with app.test_client() as client:
        text = client.get("/metrics").get_data(as_text=True)
    assert 'ticketry_job_executions_total{state="succeeded",task="ticket.process_event"}' in text
