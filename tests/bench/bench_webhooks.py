"""Webhook delivery throughput of one Huey consumer to a local receiver.

    .venv/bin/python tests/bench/bench_webhooks.py [--deliveries 3000] [--workers 4] [--database-url URL]
                                                   [--redis-url redis://127.0.0.1:6379/13]

Builds a fresh database (SQLite in a temporary folder unless --database-url
names an empty PostgreSQL database), one workspace and one endpoint, writes N
pending deliveries and puts N ``webhook.deliver`` jobs on a Huey SQLite queue.
Then it starts one consumer (``huey_worker.py``, thread workers) and a
receiver in its own process that verifies every signature with the
``standardwebhooks`` package and answers 200.

The figure is deliveries per second between the first attempt's start and the
last delivery's completion, as the database recorded them (consumer start-up
is not counted). On a shared machine the consumer's own CPU time per delivery
(from /proc) is printed too: ``per_cpu_second`` is what it sustains with one
core to itself. The script fails only when a delivery did not succeed or a
signature did not verify; it prints a row for docs/performance.md. Each delivery is a full attempt: job record, claim, signed
POST on a new connection, attempt row, delivery update. Target: 200/s.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
TARGET = 200.0


def receive(port_queue, counter, secret: str) -> None:
    """The receiver process: verify each request, answer 200 (or 400 when the signature is wrong)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from standardwebhooks.webhooks import Webhook

    hook = Webhook(secret)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                hook.verify(body, dict(self.headers.items()))
                status = 200
                with counter.get_lock():
                    counter.value += 1
            except Exception:
                status = 400
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 1024
    port_queue.put(server.server_address[1])
    server.serve_forever()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), all its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=4, help="consumer worker threads")
    parser.add_argument("--database-url", default="", help="an empty database (default: SQLite in a temp dir)")
    parser.add_argument("--redis-url", default="", help="a Redis broker for the queue (default: a Huey SQLite file)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    database_url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    queue_path = tmp / "queue.db"
    os.environ.update({"DATABASE_URL": database_url, "HUEY_SQLITE_PATH": str(queue_path), "HUEY_IMMEDIATE": "0",
                       "REDIS_URL": args.redis_url, "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING"})

    from flask_migrate import upgrade
    from sqlalchemy import func, insert, select, text

    from app import create_app
    from app.extensions import db
    from app.models import WebhookAttempt, WebhookDelivery
    from app.models.base import utcnow
    from app.repositories.unit_of_work import Actor, UnitOfWork
    from app.services import people
    from app.services.tenants import create_tenant
    from app.services.webhooks import deliveries, endpoints
    from app.tasks.webhook import deliver

    from app.queue import huey

    app = create_app()
    huey.flush()  # this benchmark's queue starts empty
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(revision="heads")
        tenant = create_tenant("Bench", "bench")
        with UnitOfWork(tenant, Actor.system("bench")) as uow:
            people.create_user(uow, email="admin@bench.test", name="Admin", role="admin", password="bench-password")
            uow.commit()

        counter = multiprocessing.Value("i", 0)
        ports = multiprocessing.Queue()
        with UnitOfWork(tenant, Actor.system("bench")) as uow:
            # The URL is set once the receiver knows its port; the secret signs every delivery.
            endpoint, secret = endpoints.create_endpoint(uow, url="http://127.0.0.1:9/", events=["*"])
            uow.commit()
        receiver = multiprocessing.Process(target=receive, args=(ports, counter, secret), daemon=True)
        receiver.start()
        port = ports.get(timeout=10)
        with UnitOfWork(tenant, Actor.system("bench")) as uow:
            endpoints.update_endpoint(uow, endpoint.id, {"url": f"http://127.0.0.1:{port}/hook"})
            uow.commit()

        now = utcnow()
        rows = []
        for i in range(args.deliveries):
            event_id = f"bench-{i:08d}"
            payload = deliveries.envelope(event_id, "ticket.updated", now, tenant,
                                          {"ticket": {"number": i + 1, "subject": f"Bench ticket {i + 1}",
                                                      "status": "open"}, "changes": ["status"]})
            rows.append({"tenant_id": tenant.id, "endpoint_id": endpoint.id, "event_id": event_id,
                         "event_type": "ticket.updated", "payload": payload, "status": "pending",
                         "attempt_count": 0, "max_attempts": 5, "next_attempt_at": now, "created_at": now,
                         "updated_at": now})
        db.session.execute(insert(WebhookDelivery), rows)
        db.session.commit()
        ids = list(db.session.scalars(select(WebhookDelivery.id).order_by(WebhookDelivery.id)))
        for delivery_id in ids:  # the queue the handler would have filled after commit
            deliver(delivery_id)
        db.session.remove()

    log = (tmp / "consumer.log").open("wb")
    consumer = subprocess.Popen([sys.executable, str(ROOT / "huey_worker.py"), "--workers", str(args.workers),
                                 "--no-periodic"], cwd=ROOT, env=os.environ.copy(), stdout=log,
                                stderr=subprocess.STDOUT)
    marks = []  # (deliveries done, consumer CPU seconds) while it works
    try:
        deadline = time.monotonic() + max(300, args.deliveries / 5)
        with app.app_context():
            while time.monotonic() < deadline:
                done = db.session.scalar(select(func.count()).select_from(WebhookDelivery)
                                         .where(WebhookDelivery.status.in_(("succeeded", "dead"))))
                db.session.remove()
                if done:
                    marks.append((done, cpu_seconds(consumer.pid)))
                if done >= args.deliveries:
                    break
                time.sleep(0.2)
    finally:
        consumer.terminate()
        consumer.wait(timeout=60)
        receiver.terminate()

    with app.app_context():
        by_status = dict(db.session.execute(select(WebhookDelivery.status, func.count())
                                            .group_by(WebhookDelivery.status)).all())
        first = db.session.scalar(select(func.min(WebhookAttempt.started_at)))
        last = db.session.scalar(select(func.max(WebhookDelivery.completed_at)))
        latencies = sorted(db.session.scalars(select(WebhookAttempt.latency_ms)))
        db.session.remove()
    seconds = (last - first).total_seconds()
    (done0, cpu0), (done1, cpu1) = marks[0], marks[-1]
    cpu_per_delivery_ms = (cpu1 - cpu0) * 1000 / (done1 - done0) if done1 > done0 else None
    rate = by_status.get("succeeded", 0) / seconds if seconds else 0.0
    result = {
        "deliveries": args.deliveries, "succeeded": by_status.get("succeeded", 0), "dead": by_status.get("dead", 0),
        "verified_by_receiver": counter.value, "seconds": round(seconds, 2), "per_second": round(rate, 1),
        "attempt_latency_ms_p50": latencies[len(latencies) // 2] if latencies else None,
        "attempt_latency_ms_p95": latencies[int(len(latencies) * 0.95)] if latencies else None,
        "consumer_cpu_ms_per_delivery": round(cpu_per_delivery_ms, 2) if cpu_per_delivery_ms else None,
        "per_cpu_second": round(1000 / cpu_per_delivery_ms, 1) if cpu_per_delivery_ms else None,
        "load_average": os.getloadavg()[0],
        "workers": args.workers, "database": database_url.split(":", 1)[0],
        "queue": "redis" if args.redis_url else "sqlite",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU, Python {platform.python_version()}",
        "target_per_second": TARGET,
    }
    print(json.dumps(result, indent=2))
    if by_status.get("succeeded", 0) != args.deliveries or counter.value != args.deliveries:
        raise SystemExit(f"not every delivery succeeded and verified; consumer log in {tmp}")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)  # kept only when something failed (the consumer log is there)
    if rate < TARGET:
        print(f"below the target of {TARGET:.0f}/s (load average {os.getloadavg()[0]:.1f}: a busy machine "
              f"shares its CPUs; per_cpu_second is the rate with one core to itself)")
    print("\n| machine | date | figure | target | command |")
    command = f"--workers {args.workers}" + (f" --redis-url {args.redis_url}" if args.redis_url else "")
    print(f"| {result['machine']}, {result['database']}, {result['queue']} queue | {time.strftime('%Y-%m-%d')} "
          f"| {rate:.0f} deliveries/s ({args.workers} worker threads; {result['consumer_cpu_ms_per_delivery']} ms "
          f"consumer CPU per delivery = {result['per_cpu_second']}/s per CPU second; load average "
          f"{result['load_average']:.1f}) | ≥ {TARGET:.0f}/s | `.venv/bin/python tests/bench/bench_webhooks.py {command}` |")


if __name__ == "__main__":
    main()
