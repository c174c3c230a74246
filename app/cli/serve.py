"""flask serve: the web app and the Huey worker together, for development (`make run`).

Ctrl-C (or SIGTERM) stops both: the worker gets SIGTERM, which lets running
tasks finish. If either process exits, the other is stopped too.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[2]


@click.command("serve", help="Run the web app and the background worker together.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=None, type=int, help="Worker threads (default: HUEY_WORKERS).")
def serve(host: str, port: int, workers: int | None) -> None:
    worker_cmd = [sys.executable, str(ROOT / "huey_worker.py")]
    if workers:
        worker_cmd += ["--workers", str(workers)]
    web_cmd = [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host", host, "--port", str(port)]
    # The worker gets its own session: a terminal's Ctrl-C (SIGINT) would interrupt its
    # tasks; it is sent SIGTERM instead, which lets them finish.
    processes = [subprocess.Popen(worker_cmd, cwd=ROOT, start_new_session=True), subprocess.Popen(web_cmd, cwd=ROOT)]
    click.echo(f"Ticketry on http://{host}:{port} with a background worker. Ctrl-C stops both.")

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping and all(p.poll() is None for p in processes):
            time.sleep(0.3)
    finally:
        for p in processes:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in processes:
            try:
                p.wait(timeout=70)
            except subprocess.TimeoutExpired:
                p.kill()
    codes = [p.returncode for p in processes]
    click.echo(f"stopped (worker exit {codes[0]}, web exit {codes[1]})")
