"""Faults, with real processes: each test starts its own instance of what it breaks.

(a) PostgreSQL stopped and restarted under a running app: a cluster of the test's
    own (initdb in a temporary directory, a spare port). During the outage
    requests fail fast (5xx, /health 503, within seconds); once it is back they
    succeed without restarting the app (pool_pre_ping drops dead connections).
(b) Redis stopped during traffic: a redis-server of the test's own is the broker.
    Ticket creation keeps answering 201 while it is down; once it is back the
    outbox relay hands the missed events to the queue, the jobs run, and every
    event is processed exactly once (one processed_events row per handler).
    The consumer processes themselves are covered by tests/integration/jobs.
(c) A webhook receiver (a process) down, then up: deliveries are retried and
    each event reaches the receiver exactly once.
The machine's own PostgreSQL and Redis are never touched.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from tests.integration.jobs.harness import (Proc, RedisServer, create_database, expected_handlings, free_port,
                                            wait_for)
from tests.integration.reliability.support import FAST, make_app, new_ticket, own_queue_settings, seed, timed_get

HERE = Path(__file__).resolve().parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


# -- (a) PostgreSQL ------------------------------------------------------------------------------------
class PostgresCluster:
    """initdb + pg_ctl on a spare port in a temporary directory; run as the postgres user when we are root."""

    def __init__(self):
        if not (PG_BIN / "initdb").exists():
            pytest.skip(f"no PostgreSQL binaries in {PG_BIN} (set PG_BIN)")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="ticketry-pg-"))
        self.data = self.dir / "data"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")

    def _run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
        command = [str(PG_BIN / argv[0]), *argv[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> "PostgresCluster":
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        return self

    def _server_options(self) -> list[str]:
        # -l: the server's output goes to a file, never to our pipes (pg_ctl would wait for them to close)
        return ["-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
                "-l", str(self.dir / "server.log")]

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), *self._server_options(), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), *self._server_options(), "-m", "fast", "-w", "restart")

    def destroy(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=30)
        except Exception:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def postgres_cluster():
    cluster = PostgresCluster().init()
    cluster.start()
    yield cluster
    cluster.destroy()


def test_postgres_outage_fails_fast_and_the_app_recovers(postgres_cluster, tmp_path):
    with own_queue_settings():
        app = make_app(postgres_cluster.url, tmp_path)
        headers = seed(app)
        client = app.test_client()
        assert new_ticket(client, headers, "Before the outage")[0] == 201
        assert timed_get(client, "/health")[0] == 200

        postgres_cluster.stop()
        for i in range(3):
            status, took = new_ticket(client, headers, f"During the outage {i}")
            assert status >= 500 and took < FAST, (status, took)
            status, took = timed_get(client, "/health")
            assert status == 503 and took < FAST, (status, took)
        status, took = timed_get(client, "/api/v1/tickets")
        assert status in (401, 500, 503) and took < FAST, (status, took)  # the token check needs the database

        postgres_cluster.start()
        # the pool still holds connections to the stopped server: pre-ping replaces them, no app restart
        assert new_ticket(client, headers, "After the outage")[0] == 201
        assert timed_get(client, "/health")[0] == 200

        postgres_cluster.restart()  # a restart between two requests: the next one still succeeds
        assert new_ticket(client, headers, "After the restart")[0] == 201
        response = client.get("/api/v1/tickets?limit=100", headers=headers)
        assert response.status_code == 200
        subjects = {t["subject"] for t in response.get_json()["data"]}
        assert {"Before the outage", "After the outage", "After the restart"} <= subjects
        assert not any(s.startswith("During the outage") for s in subjects)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# -- (b) Redis ----------------------------------------------------------------------------------------
def test_redis_outage_keeps_ticket_creation_up_and_loses_no_event(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    from app.models import OutboxEvent, ProcessedEvent
    from app.queue import huey
    from app.tasks.maintenance import relay_outbox_once

    redis = RedisServer(tmp_path).start()
    url, drop_database = create_database(tmp_path)
    try:
        with own_queue_settings():
            app = make_app(url, tmp_path, HUEY_IMMEDIATE=False, REDIS_URL=redis.url)
            headers = seed(app)
            client = app.test_client()
            statuses = [new_ticket(client, headers, f"Redis up {i}") for i in range(3)]
            assert all(status == 201 for status, _ in statuses), statuses

            redis.stop()  # what was queued is lost with it: this redis-server keeps nothing on disk
            during = [new_ticket(client, headers, f"Redis down {i}") for i in range(5)]
            assert all(status == 201 and took < FAST for status, took in during), during
            health = client.get("/health")
            assert health.status_code == 503 and health.get_json()["redis"] == "down"

            redis.start()  # same port
            with app.app_context():
                sent = relay_outbox_once()  # the periodic relay: every event not processed, lost ones included
                assert sent >= 8, sent
                ran = 0
                while (task := huey.dequeue()) is not None:  # the consumer's loop, in process
                    huey.execute(task)
                    ran += 1
                assert ran >= sent
                events = list(db.session.scalars(select(OutboxEvent)))
                assert events and all(e.processed_at is not None for e in events), \
                    [e.event_type for e in events if e.processed_at is None]
                handled = sorted((r.event_id, r.handler) for r in db.session.scalars(select(ProcessedEvent)))
                assert handled == expected_handlings(events)  # every handler once per event: nothing lost, no double
                assert relay_outbox_once() == 0  # nothing left behind
                tickets = db.session.scalar(select(func.count()).select_from(OutboxEvent)
                                            .where(OutboxEvent.event_type == "ticket.created"))
                assert tickets == 8
                db.session.remove()
                db.engine.dispose()
    finally:
        if redis.proc is not None:
            redis.proc.stop()
        drop_database()


# -- (c) webhook receiver -------------------------------------------------------------------------------
class ReceiverProcess:
    def __init__(self, tmp_path: Path, port: int):
        self.port, self.log = port, tmp_path / "received.jsonl"
        self.tmp_path = tmp_path
        self.proc: Proc | None = None

    def start(self) -> None:
        self.proc = Proc("receiver", [sys.executable, str(HERE / "receiver.py"), str(self.port), str(self.log)],
                         dict(os.environ), self.tmp_path / "receiver.log")
        self.proc.wait_for_log(f"receiving on {self.port}", timeout=20)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.signal(signal.SIGKILL)
            self.proc.stop()
            self.proc = None

    def received(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


def test_webhook_receiver_down_then_up_gets_each_event_once(app, acme, tmp_path, monkeypatch):
    if not (Path(__file__).resolve().parents[3] / "app" / "services" / "webhooks").exists():
        pytest.skip("no webhooks in this build (app/services/webhooks)")
    from app.models import WebhookDelivery
    from app.queue import huey
    from app.services.webhooks import endpoints
    from app.tasks.webhook import deliver

    monkeypatch.setitem(app.config, "WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setitem(app.config, "WEBHOOK_RETRY_SCHEDULE", "0.3,0.3,0.3,0.3,0.3,0.3")
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 2.0)
    huey.flush()
    receiver = ReceiverProcess(tmp_path, free_port())
    receiver.start()
    try:
        with app.app_context():
            with acme.uow(acme.admin) as uow:
                endpoint, _ = endpoints.create_endpoint(uow, url=f"http://127.0.0.1:{receiver.port}/hook",
                                                        events=["ticket.created"], description="faults", active=True)
                uow.commit()
            db.session.remove()
        from tests.integration.api.conftest import make_token

        headers = {"Authorization": f"Bearer {make_token(app, acme, acme.agent)}"}
        client = app.test_client()
        assert new_ticket(client, headers, "Receiver up")[0] == 201
        wait_for(lambda: len(receiver.received()) == 1, 10, "the first delivery")

        receiver.stop()
        for i in range(3):
            status, took = new_ticket(client, headers, f"Receiver down {i}")
            assert status == 201 and took < FAST, (status, took)  # an attempt fails fast: connection refused
        receiver.start()  # same port

        def all_delivered():
            for task in huey.read_schedule():  # the consumer's scheduler, in process
                huey.execute(task)
            db.session.expire_all()
            rows = list(db.session.scalars(select(WebhookDelivery)
                                           .where(WebhookDelivery.endpoint_id == endpoint.id)))
            return len(rows) == 4 and all(r.status == "succeeded" for r in rows)

        with app.app_context():
            wait_for(all_delivered, 20, "every delivery to succeed once the receiver is back", interval=0.05,
                     on_timeout=lambda: "\n".join(
                         f"delivery {r.id}: {r.status} attempts={r.attempt_count} next={r.next_attempt_at} "
                         f"error={r.last_error}" for r in db.session.scalars(select(WebhookDelivery)))
                     + f"\nscheduled: {huey.scheduled_count()}; received: {receiver.received()}")
            ids = list(db.session.scalars(select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)))
            for delivery_id in ids:  # the job runs again (a retry, a sweeper): nothing is sent twice
                deliver.call_local(delivery_id)
            db.session.remove()
        received = receiver.received()
        webhook_ids = [r["webhook_id"] for r in received]
        assert len(webhook_ids) == 4 and len(set(webhook_ids)) == 4, received
    finally:
        receiver.stop()
        huey.flush()
