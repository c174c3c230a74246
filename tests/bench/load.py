"""Load test: agents on the pages and integrators on the API, against the production stack, then checks.

    .venv/bin/python tests/bench/load.py [--seconds 60] [--agents 6] [--integrators 2]
                                         [--database-server postgresql+psycopg://postgres@127.0.0.1/postgres]
                                         [--no-report]

Everything runs on 127.0.0.1 and is started (and stopped) by the script:
- a fresh PostgreSQL database on --database-server (TEST_DATABASE_URL by default),
  built with the migrations, dropped at the end;
- a redis-server of its own on a spare port (the machine's Redis is not touched);
- gunicorn with deploy/gunicorn.conf.py (2 sync workers, GUNICORN_BIND on a spare port);
- two consumers, ``huey_worker.py`` (2 threads each);
- a webhook receiver process (tests/integration/reliability/receiver.py) behind an
  endpoint subscribed to every event, when the build has webhooks.

For --seconds, agent threads sign in (real CSRF tokens) and loop: browse the queue
(filters, pages), open a ticket, reply to it (a public reply or an internal note,
each carrying a unique word); integrator threads open tickets through the API with
a bearer token and list the queue. Then the script waits for the queue to drain and
checks, failing (exit 1) on any miss:
- zero 5xx answers and zero connection errors;
- every outbox event processed, each handler exactly once (processed_events);
- every event delivered to the receiver exactly once per webhook-id;
- every comment written during the run found by the search service by its word;
- ``flask --app wsgi audit verify`` exits 0.
It prints throughput and latency percentiles and appends them to docs/performance.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
CSRF_INPUT = re.compile(r'<input[^>]*\bname="csrf_token"[^>]*>')
VALUE = re.compile(r'\bvalue="([^"]+)"')
TICKET_LINK = re.compile(r'href="/tickets/(\d+)"')
PASSWORD = "load-test-password"
SECRET_KEY = "load-test-secret-key"


# -- processes -------------------------------------------------------------------------------------
class Proc:
    """A child in its own process group, output in a log file; stop() kills the group."""

    def __init__(self, name: str, argv: list[str], env: dict, log: Path):
        self.name, self.log_path = name, log
        self._log = open(log, "ab")
        self.popen = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, n: int = 30) -> str:
        lines = self.log_path.read_text(errors="replace").splitlines()[-n:]
        return f"--- {self.name} ---\n" + "\n".join(lines)

    def wait_for(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.log_path.read_text(errors="replace"):
            if not self.alive() or time.monotonic() > deadline:
                raise SystemExit(f"{self.name} did not say {needle!r}\n{self.tail()}")
            time.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        if self.alive():
            try:
                os.killpg(self.popen.pid, sig)
                self.popen.wait(timeout=timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(timeout=10)
        self._log.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every live process in a process group (from /proc)."""
    ticks, total = os.sysconf("SC_CLK_TCK"), 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, ..., utime (12), stime (13)
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


# -- measurements ------------------------------------------------------------------------------------
@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    created_api: list[int] = field(default_factory=list)
    comment_words: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, response, started: float) -> None:
        took = (time.monotonic() - started) * 1000
        with self.lock:
            self.latencies[kind].append(took)
            self.statuses[(kind, response.status_code)] += 1
            if response.status_code >= 500:
                self.server_errors.append(f"{kind} {response.request.method} {response.url}: "
                                          f"{response.status_code} {response.text[:200]!r}")

    def error(self, kind: str, exc: Exception) -> None:
        with self.lock:
            self.errors.append(f"{kind}: {exc!r}")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


# -- the people ---------------------------------------------------------------------------------------
def csrf(html: str) -> str:
    """The value of the page's csrf_token input, whatever the order of its attributes."""
    for tag in CSRF_INPUT.findall(html):
        value = VALUE.search(tag)
        if value:
            return value.group(1)
    raise RuntimeError("no csrf_token in the page")


def agent(base: str, email: str, stop: threading.Event, stats: Stats, seed: int) -> None:
    import requests

    rnd = random.Random(seed)
    s = requests.Session()
    try:
        page = s.get(base + "/login", timeout=30)
        response = s.post(base + "/login", data={"csrf_token": csrf(page.text), "email": email,
                                                 "password": PASSWORD, "workspace": "", "next": ""},
                          allow_redirects=False, timeout=30)
        if response.status_code != 302:
            raise RuntimeError(f"sign-in answered {response.status_code}")
    except Exception as exc:
        stats.error("login", exc)
        return
    filters = ["", "?status=new", "?status=open", "?assignee=me", "?sort=due", "?priority=high", "?page=2",
               "?q=printer", "?tag=load"]
    numbers: list[int] = []
    while not stop.is_set():
        try:
            started = time.monotonic()
            queue = s.get(base + "/tickets" + rnd.choice(filters), timeout=30)
            stats.record("page: queue", queue, started)
            numbers = [int(n) for n in TICKET_LINK.findall(queue.text)] or numbers
            if not numbers or stop.is_set():
                continue
            number = rnd.choice(numbers)
            started = time.monotonic()
            ticket = s.get(f"{base}/tickets/{number}", timeout=30)
            stats.record("page: ticket", ticket, started)
            if ticket.status_code != 200 or stop.is_set():
                continue
            word = "lw" + secrets.token_hex(5)
            started = time.monotonic()
            reply = s.post(f"{base}/tickets/{number}/comments", data={
                "csrf_token": csrf(ticket.text), "kind": rnd.choice(["public", "internal"]),
                "body": f"Looking into it ({word}). Please restart the spooler."}, allow_redirects=False, timeout=30)
            stats.record("page: reply", reply, started)
            if reply.status_code in (200, 302):
                with stats.lock:
                    stats.comment_words.append(word)
        except Exception as exc:
            stats.error("agent", exc)
            time.sleep(0.2)


def integrator(base: str, token: str, stop: threading.Event, stats: Stats, seed: int) -> None:
    import requests

    rnd = random.Random(seed)
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    while not stop.is_set():
        try:
            started = time.monotonic()
            response = s.post(base + "/api/v1/tickets", timeout=30, json={
                "subject": f"Printer {rnd.randint(1, 999)} jams ({secrets.token_hex(3)})",
                "description": "Reported by the monitoring integration.", "priority": rnd.choice(
                    ["low", "normal", "high", "urgent"]), "tags": ["load", "api"],
                "requester": {"name": "Monitoring", "email": "monitoring@example.com"}})
            stats.record("api: create ticket", response, started)
            if response.status_code == 201:
                with stats.lock:
                    stats.created_api.append(response.json()["number"])
            if rnd.random() < 0.3 and not stop.is_set():
                started = time.monotonic()
                stats.record("api: list tickets", s.get(base + "/api/v1/tickets?limit=50", timeout=30), started)
        except Exception as exc:
            stats.error("integrator", exc)
            time.sleep(0.2)


# -- setup and checks -----------------------------------------------------------------------------------
def create_database(server: str) -> tuple[str, callable]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    name = f"ticketry_load_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(server).set(database=name).render_as_string(hide_password=False), drop


def build(url: str, tmp: Path, agents: int, integrators: int, receiver_url: str | None) -> dict:
    """Migrations and data, through the services: a workspace, agents, API tokens, seed tickets, an endpoint."""
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.repositories.unit_of_work import Actor, UnitOfWork
    from app.services import people, tickets
    from app.services.tenants import create_tenant

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "HUEY_IMMEDIATE": True, "HUEY_SQLITE_PATH": str(tmp / "h.db"),
                      "REDIS_URL": "", "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"})
    with app.app_context():
        upgrade(revision="heads")
        tenant = create_tenant("Load Test Ltd", "load", "Europe/Paris")
        system = Actor.system("load test")
        with UnitOfWork(tenant, system) as uow:
            admin = people.create_user(uow, email="admin@load.test", name="Ada Admin", role="admin",
                                       password=PASSWORD)
            staff = [people.create_user(uow, email=f"agent{i}@load.test", name=f"Agent {i}", role="agent",
                                        password=PASSWORD) for i in range(agents)]
            uow.commit()
        tokens = []
        for i in range(integrators):
            with UnitOfWork(tenant, system) as uow:
                tokens.append(people.create_token(uow, staff[i % len(staff)].id, f"integration {i}")[1])
                uow.commit()
        for i in range(30):
            with UnitOfWork(tenant, system) as uow:
                tickets.create_ticket(uow, subject=f"Printer on floor {i} is on fire",
                                      description="It smells of toner.", requester_name="Pat Customer",
                                      requester_email="pat@example.com", priority=["low", "normal", "high"][i % 3],
                                      assignee_id=staff[i % len(staff)].id, tags=["load"])
                uow.commit()
        if receiver_url:
            from app.services.webhooks import endpoints

            with UnitOfWork(tenant, Actor(type="user", id=admin.id, label=admin.email, user=admin)) as uow:
                endpoints.create_endpoint(uow, url=receiver_url, events=["*"], description="load receiver",
                                          active=True)
                uow.commit()
        db.session.remove()
    return {"app": app, "agents": [u.email for u in staff], "tokens": tokens, "tenant_id": tenant.id}


def drain(app, timeout: float, with_webhooks: bool) -> float:
    """Wait until every outbox event is processed (and every delivery finished); returns the seconds waited."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import OutboxEvent

    started = time.monotonic()

    def done():
        with app.app_context():
            backlog = db.session.scalar(select(func.count()).select_from(OutboxEvent)
                                        .where(OutboxEvent.processed_at.is_(None)))
            pending = 0
            if with_webhooks:
                from app.models import WebhookDelivery

                pending = db.session.scalar(select(func.count()).select_from(WebhookDelivery)
                                            .where(WebhookDelivery.status.in_(("pending", "retrying"))))
            db.session.remove()
        return backlog == 0 and pending == 0

    wait_until(done, timeout, "the queue to drain", interval=0.5)
    return time.monotonic() - started


def check(app, stats: Stats, receiver_log: Path | None, env: dict) -> list[str]:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Comment, OutboxEvent, ProcessedEvent
    from app.services.events import HANDLERS

    failures = []
    if stats.server_errors:
        failures.append(f"{len(stats.server_errors)} 5xx answers, e.g. {stats.server_errors[:3]}")
    if stats.errors:
        failures.append(f"{len(stats.errors)} request errors, e.g. {stats.errors[:3]}")
    with app.app_context():
        events = list(db.session.scalars(select(OutboxEvent)))
        expected = Counter((e.event_id, h.name) for e in events for h in HANDLERS if e.event_type in h.event_types)
        handled = Counter((r.event_id, r.handler) for r in db.session.scalars(select(ProcessedEvent)))
        missing = set(expected) - set(handled)
        doubled = [k for k, n in handled.items() if n > 1]
        extra = set(handled) - set(expected)
        if missing or doubled or extra:
            failures.append(f"outbox handling: {len(missing)} missing, {len(doubled)} twice, {len(extra)} unexpected")
        unprocessed = [e.event_id for e in events if e.processed_at is None]
        if unprocessed:
            failures.append(f"{len(unprocessed)} outbox events never processed")
        created = {n for n in stats.created_api}
        api_events = {e.payload.get("ticket", {}).get("number") for e in events if e.event_type == "ticket.created"}
        if not created <= api_events:
            failures.append(f"{len(created - api_events)} API tickets without a ticket.created event")
        summary = {"events": len(events), "handlings": sum(handled.values()),
                   "comments": db.session.scalar(select(func.count()).select_from(Comment))}
        if receiver_log is not None:
            from app.models import WebhookDelivery

            from app.models import WebhookEndpoint
            from app.models.webhooks import EVENT_TYPES

            since = min(e.created_at for e in db.session.scalars(select(WebhookEndpoint)))
            subscribed = [e for e in events if e.event_type in EVENT_TYPES and e.created_at >= since]
            rows = list(db.session.scalars(select(WebhookDelivery)))
            received = Counter(json.loads(line)["webhook_id"] for line in receiver_log.read_text().splitlines()
                               if line.strip()) if receiver_log.exists() else Counter()
            wanted = {r.event_id for r in rows}
            twice = [k for k, n in received.items() if n > 1]
            not_received = wanted - set(received)
            not_ok = [r.id for r in rows if r.status != "succeeded"]
            if twice or not_received or not_ok or wanted != {e.event_id for e in subscribed}:
                failures.append(f"webhooks: {len(rows)} deliveries for {len(subscribed)} events, {len(not_received)} "
                                f"not received, {len(twice)} received twice, {len(not_ok)} not succeeded")
            summary["webhook deliveries"] = len(rows)
        from app.models import Tenant
        from app.repositories.unit_of_work import Actor, UnitOfWork
        from app.services import search

        tenant = db.session.scalars(select(Tenant)).first()
        uow = UnitOfWork(tenant, Actor.system("load check"))
        lost = [w for w in stats.comment_words
                if search.search_comments(uow, search.SearchQuery(text=w, limit=5)).total != 1]
        if lost:
            failures.append(f"{len(lost)} of {len(stats.comment_words)} comments not found by search, e.g. {lost[:3]}")
        summary["comments searched"] = len(stats.comment_words)
        db.session.remove()
    verify = subprocess.run([PYTHON, "-m", "flask", "--app", "wsgi", "audit", "verify"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    if verify.returncode != 0:
        failures.append(f"audit verify exited {verify.returncode}: {verify.stdout[-500:]} {verify.stderr[-500:]}")
    print("checked:", ", ".join(f"{k} {v}" for k, v in summary.items()), "| audit:",
          verify.stdout.strip().splitlines()[-1] if verify.stdout.strip() else "?")
    return failures


# -- the report ------------------------------------------------------------------------------------------
def machine() -> str:
    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except Exception:
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def report(stats: Stats, seconds: float, args, drained: float, load_avg: tuple, failures: list[str],
           cpu: dict[str, float]) -> str:
    kinds = sorted(stats.latencies)
    total = sum(len(v) for v in stats.latencies.values())
    every = [x for v in stats.latencies.values() for x in v]
    lines = [
        f"\n## Load test, {date.today().isoformat()} (`tests/bench/load.py --seconds {args.seconds:g}`)\n",
        f"{machine()}; PostgreSQL {args.pg_version}, Redis {args.redis_version}; gunicorn 2 sync workers "
        f"(deploy/gunicorn.conf.py), 2 consumers (huey_worker.py, 2 threads each); {args.agents} agents (pages, "
        f"CSRF) and {args.integrators} integrators (API) as threads of one client process on the same machine; "
        f"load average {load_avg[0]:.1f} / {load_avg[1]:.1f} / {load_avg[2]:.1f} during the run (other work "
        f"included). CPU time per request in the gunicorn workers: {cpu['web_ms']:.0f} ms; per outbox event in "
        f"the consumers: {cpu['jobs_ms']:.0f} ms. Queue drained {drained:.1f} s after the load stopped. "
        + ("All checks passed: no 5xx, every outbox event handled once per handler, every webhook delivered once, "
           "every comment searchable, `flask audit verify` exit 0." if not failures else
           "FAILED: " + "; ".join(failures)),
        "",
        "| requests | duration | throughput | p50 | p90 | p99 | max |",
        "|----------|----------|------------|-----|-----|-----|-----|",
        f"| {total} | {seconds:.0f} s | {total / seconds:.1f} req/s | {percentile(every, 50):.0f} ms | "
        f"{percentile(every, 90):.0f} ms | {percentile(every, 99):.0f} ms | {max(every or [0]):.0f} ms |",
        "",
        "| request | count | per second | p50 | p90 | p99 | max | statuses |",
        "|---------|-------|------------|-----|-----|-----|-----|----------|",
    ]
    for kind in kinds:
        values = stats.latencies[kind]
        statuses = ", ".join(f"{code}: {n}" for (k, code), n in sorted(stats.statuses.items()) if k == kind)
        lines.append(f"| {kind} | {len(values)} | {len(values) / seconds:.1f} | {percentile(values, 50):.0f} ms | "
                     f"{percentile(values, 90):.0f} ms | {percentile(values, 99):.0f} ms | {max(values):.0f} ms | "
                     f"{statuses} |")
    return "\n".join(lines) + "\n"


def append_report(text: str) -> None:
    path = ROOT / "docs" / "performance.md"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text("# Performance\n\n| machine | date | figure | target | command |\n"
                        "|---------|------|--------|--------|---------|\n")
    with open(path, "a") as out:
        out.write(text)


# -- main ---------------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--agents", type=int, default=6)
    parser.add_argument("--integrators", type=int, default=2)
    parser.add_argument("--database-server", default=os.environ.get("TEST_DATABASE_URL")
                        or "postgresql+psycopg://postgres@127.0.0.1/postgres",
                        help="a PostgreSQL URL whose server gets a fresh database for the run")
    parser.add_argument("--drain-timeout", type=float, default=180.0)
    parser.add_argument("--no-report", action="store_true", help="do not append to docs/performance.md")
    args = parser.parse_args(argv)
    if not 1 <= args.seconds <= 3600:
        parser.error("--seconds: 1 to 3600")
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed")
    with_webhooks = (ROOT / "app" / "services" / "webhooks").exists()

    tmp = Path(tempfile.mkdtemp(prefix="ticketry-load-"))
    procs: list[Proc] = []
    drop = lambda: None  # noqa: E731
    try:
        redis_port = free_port()
        redis = Proc("redis", [shutil.which("redis-server"), "--port", str(redis_port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", str(tmp)], dict(os.environ),
                     tmp / "redis.log")
        procs.append(redis)
        redis.wait_for("Ready to accept connections", 20)
        args.redis_version = subprocess.run([shutil.which("redis-server"), "--version"], capture_output=True,
                                            text=True).stdout.split()[2].removeprefix("v=")
        url, drop = create_database(args.database_server)
        receiver_log, receiver_url = None, None
        if with_webhooks:
            port = free_port()
            receiver_log = tmp / "received.jsonl"
            receiver = Proc("receiver", [PYTHON, str(ROOT / "tests/integration/reliability/receiver.py"), str(port),
                                         str(receiver_log)], dict(os.environ), tmp / "receiver.log")
            procs.append(receiver)
            receiver.wait_for(f"receiving on {port}", 20)
            receiver_url = f"http://127.0.0.1:{port}/hook"
        print(f"building {url.rsplit('/', 1)[-1]} ...", flush=True)
        setup = build(url, tmp, args.agents, args.integrators, receiver_url)
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.connect() as conn:
            args.pg_version = conn.execute(text("SHOW server_version")).scalar().split()[0]
        engine.dispose()

        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("HUEY_", "JOB_", "OUTBOX_", "MAIL_", "WEBHOOK_", "TEST_", "OTEL_", "SLA_"))}
        env.update({"DATABASE_URL": url, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "SECRET_KEY": SECRET_KEY,
                    "TICKETRY_ENV": "load", "LOG_LEVEL": "WARNING", "LOG_FORMAT": "text", "PYTHONPATH": str(ROOT),
                    "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "WEB_CONCURRENCY": "2", "METRICS_TOKEN": "",
                    "MEILISEARCH_URL": ""})
        web_port = free_port()
        web = Proc("gunicorn", [PYTHON, "-m", "gunicorn", "--config", "deploy/gunicorn.conf.py", "wsgi:app"],
                   {**env, "GUNICORN_BIND": f"127.0.0.1:{web_port}"}, tmp / "gunicorn.log")
        procs.append(web)
        for i in range(2):
            worker = Proc(f"consumer-{i + 1}", [PYTHON, "huey_worker.py", "--workers", "2"],
                          {**env, "LOG_LEVEL": "INFO"}, tmp / f"consumer-{i + 1}.log")  # INFO: "consumer started"
            procs.append(worker)
        base = f"http://127.0.0.1:{web_port}"
        import requests

        wait_until(lambda: _up(requests, base), 60, "gunicorn to answer /login")
        for proc in procs[-2:]:
            proc.wait_for("Huey consumer started", 60)

        stats, stop = Stats(), threading.Event()
        threads = [threading.Thread(target=agent, args=(base, email, stop, stats, i))
                   for i, email in enumerate(setup["agents"])]
        threads += [threading.Thread(target=integrator, args=(base, token, stop, stats, 100 + i))
                    for i, token in enumerate(setup["tokens"])]
        print(f"load for {args.seconds:.0f} s: {len(setup['agents'])} agents, {len(setup['tokens'])} integrators "
              f"against {base}", flush=True)
        consumers = procs[-2:]
        web_cpu = group_cpu_seconds(web.popen.pid)
        jobs_cpu = sum(group_cpu_seconds(p.popen.pid) for p in consumers)
        events_before = _events(setup["app"])
        started = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(args.seconds)
        stop.set()
        for t in threads:
            t.join(60)
        duration = time.monotonic() - started
        load_avg = os.getloadavg()
        drained = drain(setup["app"], args.drain_timeout, with_webhooks)
        requests_made = sum(len(v) for v in stats.latencies.values())
        cpu = {"web_ms": 1000 * (group_cpu_seconds(web.popen.pid) - web_cpu) / max(1, requests_made),
               "jobs_ms": 1000 * (sum(group_cpu_seconds(p.popen.pid) for p in consumers) - jobs_cpu)
               / max(1, _events(setup["app"]) - events_before)}
        failures = check(setup["app"], stats, receiver_log, env)
        text_ = report(stats, duration, args, drained, load_avg, failures, cpu)
        print(text_)
        if not args.no_report:
            append_report(text_)
        for failure in failures:
            print("FAIL:", failure)
        if failures:
            for proc in procs:
                print(proc.tail(15))
        return 1 if failures else 0
    finally:
        for proc in reversed(procs):
            proc.stop()
        try:
            drop()
        except Exception as exc:
            print(f"could not drop the load database: {exc}")
        shutil.rmtree(tmp, ignore_errors=True)


def _events(app) -> int:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import OutboxEvent

    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(OutboxEvent))
        db.session.remove()
    return count


def _up(requests, base: str) -> bool:
    try:
        return requests.get(base + "/login", timeout=10).status_code == 200
    except requests.RequestException:  # refused while binding, or slow while the workers import the app
        return False


if __name__ == "__main__":
    sys.exit(main())
