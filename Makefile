# The two commands a new user needs: `make run` and `make test`. Each installs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
VENV := .venv
BIN := $(VENV)/bin

# Defaults of docs/spec.md section 6; the environment overrides them.
export CAMPAIGNS_LANDING ?= data/landing
export CAMPAIGNS_WAREHOUSE ?= data/warehouse.duckdb
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

SAMPLE_START ?= 2024-06-01
SAMPLE_DAYS ?= 14
SAMPLE_REMINDERS_PER_DAY ?= 400
SCALE ?= S
DASHBOARD_PORT ?= 8501

.PHONY: help install java run test ui dashboard bench clean

help:
	@echo "make run    install, make sample data if none has landed, load, build, report (to data/outbox)"
	@echo "            CAMPAIGNS_ENGINE=spark make run: the same on Apache Spark (needs Java 17)"
	@echo "make test   install and run every test"
	@echo "make ui     open the Dagster UI"
	@echo "make dashboard  serve the campaign overview page on http://127.0.0.1:$(DASHBOARD_PORT)"
	@echo "make bench  SCALE=S|M|L|M2 benchmarks"

install: java $(VENV)/.installed /usr/bin/chromium

# The spark engine (docs/spec.md section 7) runs Spark in process: pyspark needs a Java runtime.
java:
	@command -v java >/dev/null 2>&1 || { echo "make install: the spark engine needs Java 17 (no java on PATH); as root: apt-get install -y openjdk-17-jre-headless" >&2; exit 1; }

# The browser tests drive Debian's Chromium through Playwright; nothing is downloaded by Playwright.
/usr/bin/chromium:
	@if [ "$$(id -u)" != 0 ]; then \
		echo "make install: the browser tests need /usr/bin/chromium; as root: apt-get update && apt-get install -y chromium" >&2; \
	else \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

$(VENV)/.installed: pyproject.toml uv.lock $(shell find dbt_project -name '*.sql' -o -name '*.yml' 2>/dev/null)
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@# Bytecode compiled once here: a process that starts (each run, each dbt build, the UI) then
	@# imports it instead of compiling ten thousand files, where PYTHONDONTWRITEBYTECODE is set.
	$(UV) sync --frozen --compile-bytecode
	@# Parse dbt once here so loading the Dagster definitions never does.
	cd dbt_project && CAMPAIGNS_WAREHOUSE=$${CAMPAIGNS_WAREHOUSE:-data/warehouse.duckdb} ../$(BIN)/dbt parse --quiet --profiles-dir . --target-path target
	@touch $@

run: install
	@if [ -z "$$(find "$(CAMPAIGNS_LANDING)" -name '*.jsonl*' -print -quit 2>/dev/null)" ]; then \
		echo "No landing files in $(CAMPAIGNS_LANDING): generating sample feeds"; \
		$(BIN)/campaigns generate --out "$(CAMPAIGNS_LANDING)" --start $(SAMPLE_START) --days $(SAMPLE_DAYS) \
			--reminders-per-day $(SAMPLE_REMINDERS_PER_DAY) --seed 7; \
	fi
	$(BIN)/campaigns run
	$(BIN)/campaigns report --landed-range --to "$${REPORT_RECIPIENTS:-analytics@localhost}"
	@echo
	@echo "Next: the overview page  make dashboard, then http://127.0.0.1:$(DASHBOARD_PORT)"
	@echo "      the runs           make ui, then http://127.0.0.1:3000"

test: install
	$(BIN)/pytest

ui: install
	$(BIN)/campaigns ui

# The campaign overview page over the published copy (make run first); DASHBOARD_PORT=N moves it.
dashboard: install
	$(BIN)/campaigns dashboard --port $(DASHBOARD_PORT)

bench: install
	$(BIN)/campaigns bench --scale $(SCALE)

clean:
	rm -rf $(VENV) dbt_project/target dbt_project/logs
