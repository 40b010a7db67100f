# cqrs-lab: two commands matter, `make lab` and `make test`. Everything else is a helper.
# Needs only Python >= 3.11 and GNU make; the first run builds .venv from pyproject.toml.

PYTHON ?= python3
VENV ?= .venv
PORT ?= 8888
API_PORT ?= 8000
API_DB ?= orders.sqlite3
API_WORKERS ?= 1

PY := $(VENV)/bin/python
BIN := $(VENV)/bin
# Touched after a successful install; older than pyproject.toml means "install again".
STAMP := $(VENV)/.installed-from-pyproject
BROWSER_STAMP := $(VENV)/.installed-with-browser

# Jupyter refuses to run as root without --allow-root; ordinary users must not need it.
ifeq ($(shell id -u),0)
LAB_ROOT_FLAG := --allow-root
endif
# On a Linux machine without a display, do not let jupyter start a text-mode browser in
# this terminal: it prints the URL to open instead.
ifeq ($(shell uname -s),Linux)
ifeq ($(strip $(DISPLAY)$(WAYLAND_DISPLAY)),)
LAB_BROWSER_FLAG := --no-browser
endif
endif

# mypy exits 2 on a directory without .py files, so benchmarks/ is named file by file.
MYPY_TARGETS := cqrs_lab tests $(wildcard benchmarks/*.py)

CHECK_VERSION := import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)

.PHONY: help install lab test test-browser lint typecheck format notebooks api project bench clean distclean

help:
	@echo "make lab        open JupyterLab on notebooks/ (PORT=$(PORT))"
	@echo "make test       pytest (unit tests, doctests, notebooks), ruff, ruff format --check, mypy"
	@echo "make test-browser  every notebook in JupyterLab in headless Chromium (needs chromium)"
	@echo "make lint       ruff check and ruff format --check"
	@echo "make typecheck  mypy"
	@echo "make format     sort imports and format code and notebooks with ruff"
	@echo "make notebooks  re-execute every notebook in place (after a change to what they print)"
	@echo "make api        serve the Order API on 127.0.0.1:$(API_PORT) (docs at /docs), events in $(API_DB)"
	@echo "                (API_DB=postgresql://... for PostgreSQL, with API_WORKERS=N and 'make project')"
	@echo "make project    run the projector process for API_DB=postgresql://... (LISTEN/NOTIFY)"
	@echo "make bench      run the benchmark scripts (benchmarks/bench_*.py; instruction counts: see benchmarks/README.md)"
	@echo "make clean      remove caches and build output (keeps .venv); distclean also removes .venv"

$(PY):
	@$(PYTHON) -c '$(CHECK_VERSION)' 2>/dev/null || { \
	  echo "error: cqrs-lab needs Python 3.11 or newer, but PYTHON=$(PYTHON) is" \
	       "$$($(PYTHON) --version 2>/dev/null || echo 'not found')." >&2; \
	  echo "Run again with a newer one, e.g. make PYTHON=python3.12 $(MAKECMDGOALS)" >&2; \
	  exit 1; }
	@# Never delete a $(VENV) this recipe did not make: only clean up after our own attempt.
	@if [ -e $(VENV) ]; then \
	  echo "error: $(VENV) exists but $(PY) is missing or cannot be run by this user." >&2; \
	  echo "Remove it with 'make distclean' (as its owner) and run again." >&2; \
	  exit 1; fi
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }

$(STAMP): pyproject.toml | $(PY)
	@$(PY) -c '$(CHECK_VERSION)' || { \
	  echo "error: $(VENV) was made with Python older than 3.11; run 'make distclean' first." >&2; \
	  exit 1; }
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[test,api,postgres]'
	@touch $@

install: $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks --ServerApp.ip=127.0.0.1 \
	  --ServerApp.port=$(PORT) $(LAB_ROOT_FLAG) $(LAB_BROWSER_FLAG)

test: $(STAMP)
	$(PY) -m pytest -q
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(MYPY_TARGETS)

# Not part of `make test`, which must run on a laptop without a browser. The browser is the
# system's Chromium (Debian: apt-get install chromium; or set CQRS_LAB_CHROMIUM to a binary):
# Playwright's own browser download is not used. Screenshots of failures: browser_tests/screenshots/.
test-browser: $(BROWSER_STAMP)
	$(PY) -m pytest -q -p no:cacheprovider browser_tests

$(BROWSER_STAMP): pyproject.toml | $(STAMP)
	$(PY) -m pip install -e '.[test,api,browser]'
	@touch $@

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy $(MYPY_TARGETS)

format: $(STAMP)
	$(BIN)/ruff check --select I --fix .
	$(BIN)/ruff format .

# The Order API on a SQLite file (created if missing; `make clean` deletes *.sqlite3 files).
# Timing metadata would make every re-execution a diff; outputs are what nbval compares.
# Notebook 10 needs a PostgreSQL server: without CQRS_LAB_POSTGRES_URL it is left as it is.
NEEDS_POSTGRES := notebooks/10_postgres_and_processes.ipynb
TOP_NOTEBOOKS := $(if $(CQRS_LAB_POSTGRES_URL),$(wildcard notebooks/*.ipynb),$(filter-out \
  $(NEEDS_POSTGRES),$(wildcard notebooks/*.ipynb)))
notebooks: $(STAMP)
	@[ -n "$(CQRS_LAB_POSTGRES_URL)" ] || echo "CQRS_LAB_POSTGRES_URL is not set:" \
	  "$(NEEDS_POSTGRES) is left as it is"
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	  --ExecutePreprocessor.record_timing=False \
	  $(TOP_NOTEBOOKS) notebooks/exercises/*.ipynb notebooks/solutions/*.ipynb

api: $(STAMP)
	CQRS_LAB_API_DB=$(API_DB) $(BIN)/uvicorn cqrs_lab.examples.orders.http:create_default_app \
	  --factory --host 127.0.0.1 --port $(API_PORT) --workers $(API_WORKERS)

# On PostgreSQL the API does not project: this process does, woken by LISTEN/NOTIFY.
project: $(STAMP)
	$(PY) -m cqrs_lab project --database $(API_DB)

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml | $(STAMP)
	$(PY) -m pip install -e '.[test,api,postgres,bench]'
	@touch $@

bench: $(BENCH_STAMP)
	@set -e; found=0; \
	for script in benchmarks/bench_*.py; do \
	  [ "$$script" = benchmarks/bench_instructions.py ] && continue; \
	  [ -e "$$script" ] || continue; \
	  found=1; echo "== $$script"; $(PY) "$$script"; \
	done; \
	[ "$$found" = 1 ] || echo "no benchmark scripts in benchmarks/ yet"

clean:
	rm -rf build dist .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -path ./.git -prune -o \
	  \( -name __pycache__ -o -name .ipynb_checkpoints -o -name '*.egg-info' \) \
	  -type d -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -path ./.git -prune -o \
	  -name '*.sqlite3*' -type f -exec rm -f {} +

distclean: clean
	rm -rf $(VENV)
