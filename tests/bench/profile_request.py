"""In-process cost of one URL: CPU time per request with the production settings, and a profile.

    .venv/bin/python tests/bench/profile_request.py --db /tmp/ticketry-bench/bench.db /tickets
    .venv/bin/python tests/bench/profile_request.py --db ... /api/v1/tickets --tracing --profile api.prof
    .venv/bin/python tests/bench/profile_request.py --database-url postgresql+psycopg://… /tickets

The database is one built by bench_http.py (``--db PATH`` builds it there and keeps it). The app is
created as gunicorn creates it (TICKETRY_ENV=production, JSON logs at INFO), an agent signs in
through the sign-in form (pages) or gets an API token (``/api/...``), and Flask's test client
sends the URL: no HTTP server, no load tool, so the figure is the app's own work per request,
steady from run to run (the best of 5 batches). ``--tracing`` turns on the OTLP exporter
towards a local sink in this process; its export thread's CPU counts too (``process_time``),
and the main thread's alone is printed beside it. ``--profile FILE`` writes a cProfile of
one batch (pstats format; cProfile roughly doubles the times, the proportions hold).

The before/after figures of docs/performance.md ("Fixes") were taken with this script.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_http import AGENT, PASSWORD, SECRET_KEY, TENANT, USER_AGENT  # noqa: E402

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Sink(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def environment(database_url: str, tracing: bool, scratch: Path) -> dict:
    env = {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "TICKETRY_ENV": "production",
           "SESSION_COOKIE_SECURE": "false", "REDIS_URL": "", "MEILISEARCH_URL": "", "LOG_FORMAT": "json",
           "LOG_LEVEL": "INFO", "HUEY_SQLITE_PATH": str(scratch / "profile.huey"), "METRICS_TOKEN": "profile"}
    if tracing:
        sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
        threading.Thread(target=sink.serve_forever, daemon=True).start()
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{sink.server_address[1]}"
    return env


def api_token(env: dict) -> str:
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "tokens", "create", AGENT, "--tenant",
                           TENANT, "--name", "profile"], cwd=ROOT, env={**os.environ, **env, "LOG_LEVEL": "WARNING"},
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout.strip().splitlines()[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="path and query, e.g. /tickets or /api/v1/tickets")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", help="a database built by bench_http.py --db PATH")
    where.add_argument("--database-url", help="a PostgreSQL database built by bench_http.py --database-url URL")
    parser.add_argument("--requests", type=int, default=300, help="requests per batch (5 batches)")
    parser.add_argument("--tracing", action="store_true", help="OTLP exporter on, to a local sink")
    parser.add_argument("--profile", help="write a cProfile of one batch to this file")
    args = parser.parse_args(argv)

    scratch = Path(os.environ.get("TMPDIR", "/tmp"))
    env = environment(args.database_url or f"sqlite:///{Path(args.db).resolve()}", args.tracing, scratch)
    headers = {"User-Agent": USER_AGENT}
    if args.url.startswith("/api/"):
        headers["Authorization"] = f"Bearer {api_token(env)}"
    os.environ.update(env)
    from app import create_app

    app = create_app()
    client = app.test_client()
    if not args.url.startswith("/api/"):
        token = CSRF.search(client.get("/login", headers=headers).get_data(as_text=True)).group(1)
        signed_in = client.post("/login", headers=headers,
                                data={"csrf_token": token, "email": AGENT, "password": PASSWORD})
        if signed_in.status_code != 302:
            raise SystemExit(f"sign-in answered {signed_in.status_code}")
    for _ in range(30):  # warm-up: compiled statements and templates, remembered totals
        response = client.get(args.url, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"{args.url} answered {response.status_code}")

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    batches = []
    for _ in range(1 if profiler else 5):
        cpu, main_thread = time.process_time(), time.thread_time()
        for _ in range(args.requests):
            client.get(args.url, headers=headers)
        batches.append(((time.process_time() - cpu) / args.requests * 1000,
                        (time.thread_time() - main_thread) / args.requests * 1000))
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    cpu, main_thread = min(batches)
    print(f"{args.url}: {cpu:.2f} ms CPU per request ({main_thread:.2f} ms in the serving thread), "
          f"{len(response.get_data())} bytes, tracing {'on' if args.tracing else 'off'}"
          + (f"; profile in {args.profile}" if profiler else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
