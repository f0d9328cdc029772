# Front door: `make run` builds and tests the warehouse on the embedded DuckDB default, then
# publishes it for BI tools; `make test` runs everything CI checks; `make check` is the fast
# lane (lint, type check, unit tests). Each sets up what it needs, starting from Python 3.11.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
CLI := $(BIN)/customer-health
RUNTIME_STAMP := $(VENV)/.runtime-stamp
DEV_STAMP := $(VENV)/.dev-stamp

# The defaults below equal those of src/customer_health/settings.py (a test keeps them so).
export DBT_PROFILES_DIR := $(CURDIR)
export HEALTH_RAW_DIR ?= data/raw
# dbt builds into the build database; BI tools read the serving copy that `publish` writes
# (read-only) when every error-severity test passed.
export HEALTH_DB_PATH ?= data/build/customer_health.duckdb
export HEALTH_SERVING_DIR ?= data/serving
# The same project on a local Apache Spark (dbt-spark session mode, Java 17), over the same
# raw files: tables and metastore under HEALTH_SPARK_DIR.
export HEALTH_SPARK_DIR ?= data/spark

# Size of the demo data set that `make run` generates when HEALTH_RAW_DIR is missing or empty.
DEMO_ACCOUNTS ?= 1000
DEMO_DAYS ?= 730
DEMO_SEED ?= 42

.PHONY: run test check setup setup-dev system-deps data build freshness publish summary \
	report docs lint lint-python lint-sql lint-sql-changed typecheck unit pytest clean spark \
	compare-engines

run: data publish freshness summary report

# --- environments -------------------------------------------------------------------------

define check_python
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=/path/to/python3.11)")'
endef

# What running needs: dbt, DuckDB and the customer_health package with its runtime libraries.
setup: $(RUNTIME_STAMP)

$(RUNTIME_STAMP): requirements.txt pyproject.toml
	$(check_python)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	# The package, editable (src/ stays the source); its dependencies are pinned above.
	$(BIN)/python -m pip install --quiet --no-deps --editable .
	touch $@

# What testing adds: the test, lint and type-check tools, dbt-spark and pyspark, Playwright.
setup-dev: $(DEV_STAMP)

$(DEV_STAMP): $(RUNTIME_STAMP) requirements-dev.txt requirements-spark.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# System packages the test suite needs: Java 17 (the Spark build) and Chromium (the report's
# browser test). Installed with apt-get as root or through sudo; otherwise one line saying
# what to install.
SYSTEM_PACKAGES := java:openjdk-17-jre-headless chromium:chromium
system-deps:
	@missing=""; for pair in $(SYSTEM_PACKAGES); do \
		command -v "$${pair%%:*}" >/dev/null || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		case "$$missing" in *chromium*) missing="$$missing fonts-dejavu-core";; esac; \
		if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
		elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; \
		else echo "The test suite needs these system packages:$$missing (Debian: apt-get install$$missing)"; exit 1; fi; \
		echo "Installing$$missing"; \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@java -version 2>&1 | head -1
	@chromium --version

# --- the main job -------------------------------------------------------------------------

# Demo data only into a missing or empty HEALTH_RAW_DIR: an extract the generator wrote, or
# a folder of your own files, is built as it is (the generator says which).
data: setup
	@$(CLI) generate --if-absent --accounts $(DEMO_ACCOUNTS) --days $(DEMO_DAYS) \
		--seed $(DEMO_SEED) --out "$(HEALTH_RAW_DIR)"

# dbt build into the build database only (nothing is published).
build: setup
	@mkdir -p "$(dir $(HEALTH_DB_PATH))"
	$(BIN)/dbt build

# dbt build, then, only if every error-severity test passed, replace the serving database
# (one rename) and its Parquet exports. A failed build leaves the serving files untouched.
publish: setup
	$(CLI) publish

# How old each raw table's newest `_loaded_at` is (sources.json in dbt's target path). A
# stale source is reported here and by the summary; it does not stop the run.
freshness: setup
	@mkdir -p "$(dir $(HEALTH_DB_PATH))"
	@$(BIN)/dbt source freshness \
		|| echo "Some raw tables are stale or could not be checked: see the summary."

summary: setup
	$(CLI) summary

# The static HTML report of the serving database: $(HEALTH_SERVING_DIR)/report/index.html
report: setup
	$(CLI) report

# dbt's documentation site (lineage from the raw sources to the CRM payload and the
# exposures) in target/: open target/index.html, or `.venv/bin/dbt docs serve`.
docs: setup
	@mkdir -p "$(dir $(HEALTH_DB_PATH))"
	$(BIN)/dbt docs generate

spark: setup-dev data
	@command -v java >/dev/null || { echo "Java 17 is required for the spark target (make system-deps)"; exit 1; }
	HEALTH_TARGET=spark $(BIN)/dbt build --target-path target/spark

# Build the demo on both engines and compare every mart (numbers within 0.01).
compare-engines: data build spark
	$(CLI) compare-engines --duckdb "$(HEALTH_DB_PATH)" \
		--spark-dir "$(HEALTH_SPARK_DIR)" --manifest target/spark/manifest.json

# --- checks -------------------------------------------------------------------------------

PY_PATHS := src tests models
SQL_PATHS := models tests analyses
# dbt's templater opens the profile: lint against a throwaway database, never the build file.
SQLFLUFF := HEALTH_DB_PATH=$$(mktemp -d)/lint.duckdb $(BIN)/sqlfluff lint --processes 2
# SQL files changed in the working tree (modified, added or untracked).
CHANGED_SQL = $(shell { git diff --name-only --diff-filter=d HEAD -- $(SQL_PATHS); \
	git ls-files --others --exclude-standard -- $(SQL_PATHS); } 2>/dev/null | grep '\.sql$$' | sort -u)

lint: lint-python lint-sql

lint-python: setup-dev
	$(BIN)/ruff check $(PY_PATHS)
	$(BIN)/ruff format --check $(PY_PATHS)

# Every model, test and analysis (about two minutes: dbt's templater compiles each file).
lint-sql: setup-dev
	$(SQLFLUFF) $(SQL_PATHS)

lint-sql-changed: setup-dev
	@if [ -n "$(strip $(CHANGED_SQL))" ]; then echo "sqlfluff on the changed SQL files"; \
		$(SQLFLUFF) $(CHANGED_SQL); \
	else echo "sqlfluff: no SQL file changed (make lint-sql lints them all)"; fi

typecheck: setup-dev
	$(BIN)/mypy

unit: setup-dev
	$(BIN)/python -m pytest -n 2 tests/python/unit

# The fast lane, before a commit: Python lint, the SQL files changed in the working tree, the
# type check and the unit tests; no dbt build.
check: lint-python lint-sql-changed typecheck unit

# Two workers, each running whole test files (module fixtures build once), in the order
# tests/python/conftest.py sets: the Spark comparison first.
PYTEST_WORKERS ?= 2
pytest: setup-dev system-deps
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

test: lint typecheck pytest

clean:
	rm -rf target logs dbt_packages
