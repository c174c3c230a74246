"""Real processes for the job system's tests: the web app, Huey consumers, Redis.

A ``Stack`` is one isolated installation: a fresh database (a SQLite file, or a
PostgreSQL database created for it when TEST_DATABASE_URL is set) built with
the real migrations and seeded through the services, a broker (a SQLite file
or a Redis database), and the environment every process of it shares. The
test starts the processes it needs; all of them are killed when it ends.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
SECRET_KEY = "jobs-integration-tests-secret-key"
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')

# Settings of the application that a test environment must not inherit from the caller's shell.
APP_SETTINGS = ("DATABASE_URL", "REDIS_URL", "MEILISEARCH_URL", "MEILISEARCH_API_KEY", "SECRET_KEY", "TICKETRY_ENV",
                "BASE_URL", "SESSION_COOKIE_SECURE", "METRICS_TOKEN", "WORKER_METRICS_PORT",
                "PROMETHEUS_MULTIPROC_DIR")
APP_SETTING_PREFIXES = ("HUEY_", "JOB_", "OUTBOX_", "MAIL_", "LOG_", "OTEL_", "SLA_", "WEBHOOK_", "TEST_")


# -- small pieces -------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], object], timeout: float, message: str, interval: float = 0.1,
             on_timeout: Callable[[], str] | None = None):
    """Poll ``predicate`` until it returns something truthy; that value is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = on_timeout() if on_timeout else ""
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {message}\n{detail}")
        time.sleep(interval)


def redis_url_for_tests() -> str:
    return os.environ.get("TEST_REDIS_URL") or DEFAULT_REDIS_URL


def redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except Exception:
        return False


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no csrf_token field in the page"
    return match.group(1) or match.group(2)


# -- processes ------------------------------------------------------------------------
class Proc:
    """A child process with its output in a log file; its own process group, so nothing outlives it."""

    def __init__(self, name: str, argv: list[str], env: dict, log_path: Path):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.popen = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid = self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 40) -> str:
        return f"--- {self.name} (pid {self.pid}, {self.log_path}) ---\n" + "\n".join(self.log().splitlines()[-lines:])

    def wait_for_log(self, needle: str, timeout: float = 30) -> None:
        def seen():
            if needle in self.log():
                return True
            if not self.alive:
                raise AssertionError(f"{self.name} exited with {self.popen.returncode}\n{self.tail()}")
            return False

        wait_for(seen, timeout, f"{needle!r} in the log of {self.name}", on_timeout=self.tail)

    def signal(self, signum: int) -> None:
        """Signal this process only (not its group): what a supervisor or the OOM killer does."""
        if self.alive:
            os.kill(self.pid, signum)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def stop(self) -> None:
        """Kill the process and anything it started (its process group)."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()


class RedisServer:
    """A throw-away redis-server on a spare port, for outage tests (never the machine's own Redis)."""

    def __init__(self, tmp_path: Path, port: int | None = None):
        self.binary = shutil.which("redis-server")
        self.port = port or free_port()
        self.dir = tmp_path / f"redis-{self.port}"
        self.dir.mkdir(exist_ok=True)
        self.proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(self.dir)]
        self.proc = Proc(f"redis:{self.port}", argv, dict(os.environ), self.dir / "redis.log")
        wait_for(lambda: redis_reachable(self.url), 10, f"redis-server on port {self.port}",
                 on_timeout=self.proc.tail)
        return self

    def stop(self) -> None:
        """Stop this server (SIGTERM to our own redis-server, then wait for it)."""
        if self.proc is not None:
            self.proc.signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            finally:
                self.proc.stop()
            wait_for(lambda: not redis_reachable(self.url), 10, f"redis on port {self.port} to stop")


@dataclass
class WebServer:
    proc: Proc
    url: str

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=20, **kwargs)

    def wait_ready(self, timeout: float = 60) -> None:
        def up():
            if not self.proc.alive:
                raise AssertionError(f"the web app exited\n{self.proc.tail()}")
            try:
                return self.get("/login").status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(up, timeout, "the web app to answer /login", interval=0.2, on_timeout=self.proc.tail)


# -- data -------------------------------------------------------------------------------
@dataclass
class Seed:
    """Plain values of the data made before the processes start."""

    acme_id: int
    globex_id: int
    acme_admin: str
    acme_agent: str
    globex_admin: str
    acme_lead_id: int
    password: str
    acme_token: str  # the acme agent's API token


def create_database(tmp_path: Path) -> tuple[str, Callable[[], None]]:
    """A new, empty database and the function that drops it."""
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        return f"sqlite:///{tmp_path / 'ticketry.db'}", lambda: None
    name = f"ticketry_jobs_{secrets.token_hex(4)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def build_schema_and_seed(url: str, tmp_path: Path) -> Seed:
    """Run the migrations and make two workspaces and an API token, in this process, through the services."""
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.services import people
    from tests.conftest import PASSWORD, make_workspace

    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "HUEY_IMMEDIATE": True,  # nothing made here is queued for the processes under test
        "HUEY_SQLITE_PATH": str(tmp_path / "setup-huey.db"),
        "REDIS_URL": "",
    })
    with app.app_context():
        upgrade()
        acme = make_workspace("acme", "Acme")
        globex = make_workspace("globex", "Globex")
        with acme.uow(acme.admin) as uow:
            _, secret = people.create_token(uow, acme.agent.id, "jobs integration tests")
            uow.commit()
        seed = Seed(acme_id=acme.tenant.id, globex_id=globex.tenant.id, acme_admin=acme.admin.email,
                    acme_agent=acme.agent.email, globex_admin=globex.admin.email, acme_lead_id=acme.lead.id,
                    password=PASSWORD, acme_token=secret)
        db.session.remove()
        db.engine.dispose()
    return seed


# -- the installation under test --------------------------------------------------------
class Stack:
    def __init__(self, tmp_path: Path, broker: str, redis_url: str | None = None):
        self.tmp_path = tmp_path
        self.broker = broker
        self.procs: list[Proc] = []
        self.db_url, self._drop_database = create_database(tmp_path)
        try:
            self.seed = build_schema_and_seed(self.db_url, tmp_path)
        except BaseException:
            self._drop_database()
            raise
        self.redis_url = redis_url if broker == "redis" else None
        if self.redis_url:
            flush_redis(self.redis_url)
        self.env = {k: v for k, v in os.environ.items()
                    if k not in APP_SETTINGS and not k.startswith(APP_SETTING_PREFIXES)}
        self.env.update({
            "DATABASE_URL": self.db_url,
            "REDIS_URL": self.redis_url or "",
            "HUEY_SQLITE_PATH": str(tmp_path / "huey.db"),
            "HUEY_IMMEDIATE": "0",
            "SECRET_KEY": SECRET_KEY,
            "TICKETRY_ENV": "test",
            "JOB_RETRY_BASE_SECONDS": "0.2",
            "JOB_LEASE_SECONDS": "3",
            "OUTBOX_GRACE_SECONDS": "1",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "text",  # readable logs in failure reports; the tests read messages, not formats
        })
        self.engine = create_engine(self.db_url, poolclass=NullPool,
                                    connect_args={"timeout": 15} if self.db_url.startswith("sqlite") else {})
        self._counter = 0

    # processes
    def _name(self, kind: str) -> str:
        self._counter += 1
        return f"{kind}-{self._counter}"

    def start(self, kind: str, argv: list[str], env: dict | None = None) -> Proc:
        name = self._name(kind)
        proc = Proc(name, argv, {**self.env, **(env or {})}, self.tmp_path / f"{name}.log")
        self.procs.append(proc)
        return proc

    def start_worker(self, *options: str, workers: int = 2, env: dict | None = None, ready: bool = True) -> Proc:
        """``huey_worker.main()`` with the test-only jobs registered (run_worker.py)."""
        proc = self.start("worker", [PYTHON, str(HERE / "run_worker.py"), "--workers", str(workers), *options], env)
        if ready:
            proc.wait_for_log("Huey consumer started", timeout=60)
        return proc

    def start_web(self, app_module: str = "wsgi:app", ready: bool = True) -> WebServer:
        """gunicorn on a free port (one process, threads: the host may have few CPUs)."""
        port = free_port()
        proc = self.start("web", [PYTHON, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                                  "--worker-class", "gthread", "--threads", "8", "--graceful-timeout", "2",
                                  "--no-control-socket",  # else every gunicorn shares ~/.gunicorn/gunicorn.ctl
                                  "--access-logfile", "-", app_module])
        web = WebServer(proc, f"http://127.0.0.1:{port}")
        if ready:
            web.wait_ready()
        return web

    def enqueue(self, task_name: str, *args) -> str:
        """Put a job on this stack's broker from the test process, as the web app would; returns its id."""
        from app.queue import _storage_settings, huey
        from app.tasks.base import JOBS
        from tests.integration.jobs import testing_tasks  # noqa: F401  (the test-only jobs, by name)

        storage_class, kwargs = _storage_settings(self.redis_url or "", self.env["HUEY_SQLITE_PATH"])
        storage = storage_class(huey.name, **kwargs)
        handle = JOBS[task_name]
        task = getattr(handle, "wrapper", handle).s(*args)  # the Huey task behind the app's job handle
        try:
            storage.enqueue(huey.serialize_task(task), task.priority)
        finally:
            storage.close()
            if kwargs.get("connection_pool") is not None:
                kwargs["connection_pool"].disconnect()
        return task.id

    def logs(self) -> str:
        return "\n".join(p.tail(60) for p in self.procs)

    # the database, read from this process
    def rows(self, statement, **params) -> list:
        if isinstance(statement, str):
            statement = text(statement)
        with self.engine.connect() as conn:
            return list(conn.execute(statement, params))

    def scalar(self, statement, **params):
        if isinstance(statement, str):
            statement = text(statement)
        with self.engine.connect() as conn:
            return conn.execute(statement, params).scalar()

    def job(self, job_id: str):
        from sqlalchemy import select

        from app.models import JobExecution

        found = self.rows(select(JobExecution.__table__).where(JobExecution.job_id == job_id))
        return found[0] if found else None

    def wait_for_job(self, job_id: str, states: tuple[str, ...], timeout: float = 30):
        def reached():
            row = self.job(job_id)
            return row if row is not None and row.state in states else None

        return wait_for(reached, timeout, f"job {job_id} to be {'/'.join(states)}", interval=0.05,
                        on_timeout=lambda: f"row: {self.job(job_id)}\n{self.logs()}")

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.engine.dispose()
        if self.redis_url:
            try:
                flush_redis(self.redis_url)
            except Exception:
                pass
        self._drop_database()


# -- a person using the pages ------------------------------------------------------------
class Browserless:
    """A signed-in session over HTTP with real CSRF tokens, as a browser without JavaScript would post."""

    def __init__(self, web: WebServer, email: str, password: str):
        self.web = web
        self.session = requests.Session()
        page = self.session.get(web.url + "/login", timeout=20)
        response = self.session.post(web.url + "/login", data={
            "csrf_token": csrf_token(page.text), "email": email, "password": password, "workspace": "", "next": "",
        }, allow_redirects=False, timeout=20)
        assert response.status_code == 302, response.text[:2000]

    def create_ticket(self, subject: str) -> requests.Response:
        form = self.session.get(self.web.url + "/tickets/new", timeout=20)
        assert form.status_code == 200, form.text[:2000]
        return self.session.post(self.web.url + "/tickets/new", data={
            "csrf_token": csrf_token(form.text), "subject": subject, "description": "Filed from the page.",
            "requester_name": "Pat Customer", "requester_email": "pat@example.com", "priority": "normal",
            "assignee_id": "", "tags": "",
        }, allow_redirects=False, timeout=30)


def expected_handlings(events) -> list[tuple[str, str]]:
    """(event id, handler) for every handler registered for each event's type: each must run once."""
    from app.services.events import HANDLERS

    return sorted((e.event_id, h.name) for e in events for h in HANDLERS if e.event_type in h.event_types)


def api_create_ticket(web: WebServer, token: str, subject: str, **extra) -> requests.Response:
    return requests.post(web.url + "/api/v1/tickets", headers={"Authorization": f"Bearer {token}"}, timeout=30, json={
        "subject": subject, "description": "Filed through the API.",
        "requester": {"name": "Pat Customer", "email": "pat@example.com"}, **extra,
    })
