"""Instructions per request, counted by valgrind: a measure of the app's work that no other load moves.

    .venv/bin/python tests/bench/bench_instructions.py --db /tmp/ticketry-bench/bench.db
    .venv/bin/python tests/bench/bench_instructions.py --db ... --tracing /tickets /api/v1/tickets

On a shared or virtual machine the CPU time of one request moves by 10-20 % from run to run (the
figures of docs/performance.md say so), which hides a 5 % change. ``valgrind --tool=callgrind``
counts the instructions the process executes instead: the same count for the same code, data and
requests, whatever else the machine does. Each URL runs in its own process under valgrind with
counting off while the app starts, signs in and warms up (20 requests), on for ``--requests``
requests (``callgrind_control --instr=on``), off again; the reference (tests/bench/reference_app.py,
the bare Flask page of bench_http.py) is counted the same way, so the last column is host-independent:
how many times the reference's work a request is. Same harness as profile_request.py (production
settings, Flask's test client, the database bench_http.py --db PATH built).

It needs valgrind (``apt-get install valgrind``). Counts are not time (a cache miss costs more than
an add), and a valgrind run is about 50 times slower than the real thing: this is for comparing two
versions of the code, not for the targets of issue #11, which bench_http.py measures.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = Path(__file__).resolve().parent
DEFAULT_URLS = ["/tickets", "/tickets?status=open", "/tickets?assignee=2", "/tickets/99999", "/api/v1/tickets",
                "/search?q=password+reset", "/notifications/bell"]
REFERENCE = "reference"


def child(url: str, requests: int) -> None:
    """Runs under valgrind: set up, then count ``requests`` requests of ``url``."""
    sys.path[:0] = [str(ROOT), str(BENCH)]

    def counting(on: bool) -> None:
        subprocess.run(["callgrind_control", f"--instr={'on' if on else 'off'}", str(os.getpid())],
                       capture_output=True, check=True)

    if url == REFERENCE:
        from reference_app import app

        client, headers, path = app.test_client(), {}, "/tickets"
    else:
        import profile_request as pr
        from tests.bench.bench_http import AGENT, PASSWORD, USER_AGENT

        os.environ.update(pr.environment(Path(os.environ["BENCH_DB"]), os.environ.get("BENCH_TRACING") == "1",
                                         Path(os.environ.get("TMPDIR", "/tmp"))))
        from app import create_app

        app = create_app()
        client, headers, path = app.test_client(), {"User-Agent": USER_AGENT}, url
        if url.startswith("/api/"):
            headers["Authorization"] = f"Bearer {os.environ['BENCH_API_TOKEN']}"
        else:
            login = client.get("/login", headers=headers).get_data(as_text=True)
            token = pr.CSRF.search(login).group(1)
            client.post("/login", headers=headers, data={"csrf_token": token, "email": AGENT, "password": PASSWORD})
    for _ in range(20):
        response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    counting(True)
    for _ in range(requests):
        client.get(path, headers=headers)
    counting(False)


def count(url: str, requests: int, env: dict) -> float:
    """Millions of instructions per request of ``url``."""
    done = subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null",
                           sys.executable, __file__, "--child", url, "--requests", str(requests)],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=1800)
    match = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
    if done.returncode != 0 or not match:
        raise SystemExit(f"{url}: valgrind run failed\n{done.stderr[-2000:]}")
    return int(match.group(1)) / requests / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("urls", nargs="*", help=f"paths and queries (default: {' '.join(DEFAULT_URLS)})")
    parser.add_argument("--db", help="a database built by bench_http.py --db PATH")
    parser.add_argument("--requests", type=int, default=30, help="counted requests per URL")
    parser.add_argument("--tracing", action="store_true", help="OTLP exporter on, to a local sink (its thread counts)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.requests)
        return 0
    if not args.db:
        parser.error("--db is required")
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        raise SystemExit("bench_instructions.py needs valgrind: apt-get install valgrind")
    urls = args.urls or DEFAULT_URLS
    sys.path[:0] = [str(ROOT), str(BENCH)]
    import profile_request as pr

    db = Path(args.db).resolve()
    env = {"BENCH_DB": str(db), "BENCH_TRACING": "1" if args.tracing else "0"}
    if any(u.startswith("/api/") for u in urls):
        env["BENCH_API_TOKEN"] = pr.api_token(pr.environment(db, False, Path(os.environ.get("TMPDIR", "/tmp"))))
    reference = count(REFERENCE, args.requests, env)
    print(f"| URL | instructions per request | × the reference |\n|-----|-----:|-----:|\n"
          f"| reference (bare Flask, 25 rows from memory) | {reference:.2f} M | 1.00 |", flush=True)
    for url in urls:
        value = count(url, args.requests, env)
        print(f"| `{url}`{' (tracing on)' if args.tracing else ''} | {value:.2f} M | {value / reference:.2f} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
