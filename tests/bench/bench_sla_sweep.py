"""Benchmark: the SLA breach sweep over 100,000 open tickets on SQLite (target: under a second).

    .venv/bin/python tests/bench/bench_sla_sweep.py [--tickets 100000] [--due 500] [--database-url URL]

Builds a throwaway database (a temporary SQLite file unless --database-url is given), one
workspace with its default policy, and ``--tickets`` open tickets written in bulk with
deadlines spread over the coming days. ``--due`` of them have a breach alarm just passed
and as many a warning alarm just passed. Then it times:

1. a sweep with nothing due (the steady state, most runs);
2. a sweep that marks and escalates 2 × ``--due`` tickets (SLA rows, notifications, outbox
   events, commit; the outbox events are handed to a real, non-immediate Huey queue);
3. the same sweep again (nothing left: no double escalation).

It prints a Markdown table row for docs/performance.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import func, insert, select  # noqa: E402

BATCH = 5000


def build(app, n: int, due: int) -> datetime:
    from app.extensions import db
    from app.models import Notification, SlaPolicy, Ticket
    from app.repositories.unit_of_work import Actor, UnitOfWork
    from app.services import people
    from app.services.tenants import create_tenant

    people.PASSWORD_METHOD = "scrypt:1024:8:1"
    now = datetime.now(timezone.utc).replace(microsecond=0)
    with app.app_context():
        tenant = create_tenant("Bench", "bench", "Europe/Paris")
        with UnitOfWork(tenant, Actor.system("bench")) as uow:
            agents = [people.create_user(uow, email=f"agent{i}@bench.test", name=f"Agent {i}", role="agent",
                                         password="bench-password") for i in range(20)]
            for i in range(3):
                people.create_user(uow, email=f"lead{i}@bench.test", name=f"Lead {i}", role="lead",
                                   password="bench-password")
            uow.commit()
        policy_id = db.session.scalar(select(SlaPolicy.id).where(SlaPolicy.tenant_id == tenant.id))
        agent_ids = [a.id for a in agents]
        rng = random.Random(7)
        due_rows = set(rng.sample(range(n), 2 * due))
        breach_rows = set(list(due_rows)[:due])
        rows = []
        for i in range(n):
            created = now - timedelta(minutes=rng.randint(10, 60 * 24 * 3))
            reply_due = now + timedelta(minutes=rng.randint(30, 60 * 24 * 5))
            resolution_due = reply_due + timedelta(hours=rng.randint(4, 72))
            row = dict(
                tenant_id=tenant.id, number=i + 1, subject=f"Bench ticket {i + 1}", description="…",
                status=rng.choice(("new", "open", "open", "pending")), priority=rng.choice(("low", "normal", "high")),
                requester_name="Requester", requester_email="r@example.com", assignee_id=rng.choice(agent_ids),
                created_at=created, updated_at=created, sla_policy_id=policy_id, sla_state="ok",
                first_response_due_at=reply_due, reply_due_at=reply_due, resolution_due_at=resolution_due,
                sla_due_at=reply_due, sla_paused_minutes=0,
                reply_warn_at=reply_due - timedelta(minutes=20), reply_breach_at=reply_due,
                resolution_warn_at=resolution_due - timedelta(hours=2), resolution_breach_at=resolution_due,
                reply_warned=False, reply_breached=False, resolution_warned=False, resolution_breached=False,
            )
            if i in breach_rows:
                row.update(reply_breach_at=now - timedelta(minutes=1), reply_due_at=now - timedelta(minutes=1),
                           reply_warn_at=None, reply_warned=True, sla_state="at_risk")
            elif i in due_rows:
                row.update(resolution_warn_at=now - timedelta(minutes=1))
            rows.append(row)
            if len(rows) == BATCH:
                db.session.execute(insert(Ticket), rows)
                rows = []
        if rows:
            db.session.execute(insert(Ticket), rows)
        db.session.execute(Ticket.__table__.update().values(status="open").where(Ticket.status == "new"))
        from app.models import Tenant
        db.session.execute(Tenant.__table__.update().values(ticket_seq=n).where(Tenant.id == tenant.id))
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Ticket)) == n
        assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
        if db.engine.dialect.name == "sqlite":
            with db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
        db.session.remove()
    return now + timedelta(seconds=1)


def timed(app, now) -> tuple[float, dict]:
    from app.extensions import db
    from app.services.sla.sweep import sweep_breaches

    with app.app_context():
        started = time.perf_counter()
        counts = sweep_breaches(now)
        elapsed = time.perf_counter() - started
        db.session.remove()
    return elapsed, dict(counts)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=100, help="breach alarms due; as many warning alarms")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="ticketry-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    os.environ.setdefault("SECRET_KEY", "bench")
    from flask_migrate import upgrade

    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "HUEY_IMMEDIATE": False, "REDIS_URL": "",
                      "HUEY_SQLITE_PATH": str(workdir / "huey.db")})
    with app.app_context():
        upgrade(revision="heads")
    print(f"building {args.tickets} open tickets in {url} …", flush=True)
    started = time.perf_counter()
    now = build(app, args.tickets, args.due)
    print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)

    idle, idle_counts = timed(app, now - timedelta(minutes=10))
    busy, busy_counts = timed(app, now)
    again, again_counts = timed(app, now)
    print(f"sweep, nothing due:             {idle * 1000:8.1f} ms  {idle_counts}")
    print(f"sweep, {2 * args.due} escalations:        {busy * 1000:8.1f} ms  {busy_counts}")
    print(f"same sweep again (none left):   {again * 1000:8.1f} ms  {again_counts}")
    assert not idle_counts and not again_counts
    assert busy_counts.get("reply_breach") == args.due and busy_counts.get("resolution_warning") == args.due
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print("\n| machine | date | figure | target | command |")
    dialect = url.split(":", 1)[0]
    for label, value in ((f"{args.tickets:,} open, nothing due", idle),
                         (f"{args.tickets:,} open, {2 * args.due} escalated", busy)):
        print(f"| {machine} | {datetime.now():%Y-%m-%d} | {dialect}: {label}: {value * 1000:.0f} ms | < 1000 ms "
              f"| `.venv/bin/python tests/bench/bench_sla_sweep.py` |")
    import shutil

    shutil.rmtree(workdir, ignore_errors=True)  # a 100,000-ticket database per run: make bench runs it every time


if __name__ == "__main__":
    main()
