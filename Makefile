# Ticketry. On a fresh machine with Python 3.11+:
#   make run    install, migrate, seed the demo data, serve on http://127.0.0.1:5000
#   make test   install, run the whole test suite (tests/, without tests/bench)
#   make bench  run the benchmark scripts in tests/bench/
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

.PHONY: venv install migrate seed run test bench

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

# Every tests/bench/*.py script, each run on its own (an empty folder is fine).
bench: $(STAMP)
	@scripts=$$(ls tests/bench/*.py 2>/dev/null | grep -v -e '/__init__.py$$' -e '/conftest.py$$' || true); \
	if [ -z "$$scripts" ]; then echo "No benchmark scripts in tests/bench/ yet."; exit 0; fi; \
	for script in $$scripts; do echo "== $$script"; $(BIN)/python $$script || exit 1; done
