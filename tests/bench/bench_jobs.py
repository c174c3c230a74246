"""Job throughput: one real consumer process draining N trivial recorded jobs, SQLite queue and Redis queue.

    .venv/bin/python tests/bench/bench_jobs.py [--jobs 2000] [--workers 2] [--queue sqlite|redis|both]

For each queue: a fresh SQLite database (migrations) in a temporary folder, N
``bench.noop`` jobs put on the queue (a Huey SQLite file, or a redis-server of the
script's own on a spare port: the machine's Redis is not touched), then one
consumer, ``huey_worker.py``'s main() in its own process with thread workers and
periodic jobs off. The job does nothing, so the figure is the job system's own cost:
Huey's dequeue, the app context, the trace span, and the two writes that record every
attempt in job_executions (started, succeeded). The rate is jobs per second between
the first recorded start and the last recorded finish; consumer start-up is not
counted. The consumer's CPU time per job (from /proc) is printed too: on a shared
machine it is the steadier figure. No target in the issue; it is reported next to the
others in docs/performance.md. Not collected by pytest (tests/bench).

Run with --consumer, the script is the consumer itself (it registers bench.noop, then
runs huey_worker.main()).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable


def register_noop():
    from app.tasks.base import job

    @job(retries=1, name="bench.noop")
    def noop(n: int) -> None:
        """Nothing: the cost measured is the job system's."""

    return noop


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_redis(tmp: Path) -> tuple[subprocess.Popen, str]:
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("redis-server is not installed: run with --queue sqlite")
    port = free_port()
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    import redis

    deadline = time.monotonic() + 20
    while True:
        try:
            if redis.Redis(port=port, socket_connect_timeout=1).ping():
                break
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("redis-server did not start")
        time.sleep(0.1)
    return proc, f"redis://127.0.0.1:{port}/0"


def run_one(queue: str, jobs: int, workers: int) -> dict:
    """A fresh environment, N jobs on the queue, one consumer until every job is recorded as succeeded."""
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-jobs-{queue}-"))
    redis_proc = None
    try:
        redis_url = ""
        if queue == "redis":
            redis_proc, redis_url = start_redis(tmp)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("HUEY_", "JOB_", "OTEL_", "TEST_", "LOG_")) and k not in ("DATABASE_URL", "REDIS_URL")}
        env.update({"DATABASE_URL": f"sqlite:///{tmp / 'app.db'}", "HUEY_SQLITE_PATH": str(tmp / "queue.db"),
                    "HUEY_IMMEDIATE": "0", "REDIS_URL": redis_url, "MEILISEARCH_URL": "", "LOG_LEVEL": "WARNING",
                    "SECRET_KEY": "bench-jobs", "PYTHONPATH": str(ROOT)})
        # Enqueue in a child process: this one keeps no app (and no Huey storage) of its own.
        enqueue = subprocess.run([PYTHON, __file__, "--enqueue", str(jobs)], cwd=ROOT, env=env, capture_output=True,
                                 text=True, timeout=600)
        if enqueue.returncode != 0:
            raise SystemExit(f"enqueueing failed:\n{enqueue.stderr[-3000:]}")
        log = open(tmp / "consumer.log", "wb")
        consumer = subprocess.Popen([PYTHON, __file__, "--consumer", "--workers", str(workers), "--no-periodic"],
                                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        import sqlite3

        db = tmp / "app.db"
        marks = []
        deadline = time.monotonic() + max(120, jobs / 10)
        try:
            while time.monotonic() < deadline:
                time.sleep(0.2)
                if consumer.poll() is not None:
                    raise SystemExit(f"the consumer exited: {(tmp / 'consumer.log').read_text()[-3000:]}")
                with sqlite3.connect(db, timeout=15) as conn:
                    done = conn.execute("select count(*) from job_executions where task_name = 'bench.noop' "
                                        "and state = 'succeeded'").fetchone()[0]
                if done:
                    marks.append((done, cpu_seconds(consumer.pid)))
                if done >= jobs:
                    break
        finally:
            consumer.terminate()
            consumer.wait(timeout=60)
            log.close()
        with sqlite3.connect(db) as conn:
            done, first, last = conn.execute(
                "select count(*), min(started_at), max(finished_at) from job_executions "
                "where task_name = 'bench.noop' and state = 'succeeded'").fetchone()
            other = conn.execute("select count(*) from job_executions where task_name = 'bench.noop' "
                                 "and state != 'succeeded'").fetchone()[0]
        if done != jobs:
            raise SystemExit(f"{queue}: {done} of {jobs} jobs succeeded ({other} in another state)")
        from datetime import datetime

        seconds = (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds()
        (d0, c0), (d1, c1) = marks[0], marks[-1]
        cpu_ms = (c1 - c0) * 1000 / (d1 - d0) if d1 > d0 else None
        return {"queue": queue, "jobs": jobs, "workers": workers, "seconds": round(seconds, 2),
                "per_second": round(jobs / seconds, 1) if seconds else None,
                "consumer_cpu_ms_per_job": round(cpu_ms, 2) if cpu_ms else None,
                "per_cpu_second": round(1000 / cpu_ms, 1) if cpu_ms else None, "load_average": os.getloadavg()[0]}
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


def enqueue(jobs: int) -> None:
    from flask_migrate import upgrade

    from app import create_app

    noop = register_noop()
    app = create_app()
    with app.app_context():
        upgrade(revision="heads")
        from app.queue import huey

        huey.flush()
        for n in range(jobs):
            noop(n)


def main() -> None:
    if "--consumer" in sys.argv:  # the consumer process: bench.noop registered, then huey_worker as usual
        sys.argv.remove("--consumer")
        register_noop()
        import huey_worker

        huey_worker.main()
        return
    if "--enqueue" in sys.argv:
        enqueue(int(sys.argv[sys.argv.index("--enqueue") + 1]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2, help="consumer worker threads (HUEY_WORKERS default: 2)")
    parser.add_argument("--queue", choices=("sqlite", "redis", "both"), default="both")
    args = parser.parse_args()
    queues = ["sqlite", "redis"] if args.queue == "both" else [args.queue]
    if "redis" in queues and shutil.which("redis-server") is None:
        print("redis-server is not installed: the Redis queue is skipped")
        queues.remove("redis")
    results = []
    for queue in queues:
        result = run_one(queue, args.jobs, args.workers)
        print(json.dumps(result), flush=True)
        results.append(result)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, SQLite (WAL)"
    print("\n| machine | date | figure | target | command |")
    for r in results:
        print(f"| {machine}, Huey {r['queue']} queue | {time.strftime('%Y-%m-%d')} | Jobs, one consumer "
              f"({r['workers']} worker threads), {r['jobs']:,} trivial recorded jobs: {r['per_second']:.0f} jobs/s; "
              f"consumer CPU {r['consumer_cpu_ms_per_job']} ms per job = {r['per_cpu_second']}/s per CPU second; "
              f"load average {r['load_average']:.1f} | — (reported) | `.venv/bin/python tests/bench/bench_jobs.py "
              f"--queue {r['queue']}` |")


if __name__ == "__main__":
    main()
