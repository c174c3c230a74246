# Ticketry. On a fresh machine with Python 3.11+:
#   make run    install, migrate, seed the demo data, serve on http://127.0.0.1:5000
#   make test   install, run the whole test suite (tests/, without tests/bench)
#   make bench  the benchmarks of docs/performance.md (needs wrk; RECORD=1 writes the results there)
# Options: make PYTHON=python3.12 ..., make run PORT=8000, make test PYTEST_ARGS="-x -k tickets"

PYTHON      ?= python3
VENV        := .venv
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.installed
FLASK       := $(BIN)/flask --app wsgi
HOST        ?= 127.0.0.1
PORT        ?= 5000
PYTEST_ARGS ?=
# Test processes (pytest-xdist). Each file runs in one process; each process has its own
# PostgreSQL database and Redis database (see tests/conftest.py). PYTEST_WORKERS=0: one process.
PYTEST_WORKERS ?= 2

.PHONY: venv install migrate seed run test bench bench-load

venv install: $(STAMP)

# Reinstalls only when pyproject.toml is newer than the stamp.
$(STAMP): pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
		$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
			{ echo "Ticketry needs Python 3.11 or newer: make PYTHON=python3.11 $(MAKECMDGOALS)" >&2; exit 1; }; \
		echo "Creating $(VENV) with $$($(PYTHON) --version)"; \
		$(PYTHON) -m venv $(VENV); \
	fi
	@# the pip that venv bundles can be too old to resolve the OpenTelemetry pins (ResolutionImpossible)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

migrate: $(STAMP)
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) demo seed

# flask serve runs the web app and the Huey worker together; Ctrl-C stops both.
run: seed
	$(FLASK) serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest tests --ignore=tests/bench -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The benchmarks of issue #11 (docs/performance.md), a few minutes on 2 cores: the HTTP run with wrk
# (builds 100,000 tickets + 300,000 comments in BENCH_DIR, then search reuses that database), the SLA
# sweep, webhook deliveries and job throughput. Needs wrk (apt-get install wrk); redis-server is
# optional (bench_jobs.py skips its Redis queue without it). RECORD=1 writes the HTTP and search
# results into docs/performance.md. tests/bench/load.py (PostgreSQL + Redis, checks) is `make bench-load`.
BENCH_DIR   ?= /tmp/ticketry-bench
RECORD      ?=
BENCH_RECORD = $(if $(RECORD),--record,)

bench: $(STAMP)
	@command -v wrk >/dev/null || { echo "make bench needs wrk: apt-get install wrk" >&2; exit 1; }
	rm -rf $(BENCH_DIR) && mkdir -p $(BENCH_DIR)
	$(BIN)/python tests/bench/bench_http.py --db $(BENCH_DIR)/bench.db $(BENCH_RECORD)
	$(BIN)/python tests/bench/bench_search.py --db $(BENCH_DIR)/bench.db $(BENCH_RECORD)
	$(BIN)/python tests/bench/bench_sla_sweep.py
	$(BIN)/python tests/bench/bench_webhooks.py --deliveries 2000 --workers 2
	$(BIN)/python tests/bench/bench_jobs.py --jobs 2000
	rm -rf $(BENCH_DIR)

bench-load: $(STAMP)
	$(BIN)/python tests/bench/load.py --seconds 30
