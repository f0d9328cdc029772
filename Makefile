# Front door: `make run` builds and tests the warehouse on the embedded DuckDB default, then
# publishes it for BI tools; `make test` runs everything CI checks. Both set up .venv
# themselves.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

export DBT_PROFILES_DIR := $(CURDIR)
export HEALTH_RAW_DIR ?= data/raw
# dbt builds into the build database; BI tools read the serving copy that `publish` writes
# (read-only) when every error-severity test passed.
export HEALTH_DB_PATH ?= data/build/customer_health.duckdb
export HEALTH_SERVING_DIR ?= data/serving
SERVING_DB := $(HEALTH_SERVING_DIR)/customer_health.duckdb

# Size of the demo data set that `make run` generates when HEALTH_RAW_DIR is empty.
DEMO_ACCOUNTS ?= 1000
DEMO_DAYS ?= 730
DEMO_SEED ?= 42

.PHONY: run test setup data build publish summary report docs lint pytest clean spark \
	compare-engines java browser

run: data publish summary report

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt requirements-spark.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=/path/to/python3.11)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	# decision_dag, imported by the dbt Python model (editable: scripts/ stays the source)
	$(BIN)/python -m pip install --quiet --no-deps --editable .
	touch $(STAMP)

data: setup
	@if [ -f "$(HEALTH_RAW_DIR)/_manifest.json" ]; then \
		echo "Raw data found in $(HEALTH_RAW_DIR)"; \
	else \
		$(BIN)/python scripts/generate_data.py --accounts $(DEMO_ACCOUNTS) --days $(DEMO_DAYS) \
			--seed $(DEMO_SEED) --out "$(HEALTH_RAW_DIR)"; \
	fi

# dbt build into the build database only (nothing is published).
build: setup
	@mkdir -p "$(dir $(HEALTH_DB_PATH))"
	$(BIN)/dbt build

# dbt build, then, only if every error-severity test passed, replace the serving database
# (one rename) and its Parquet exports. A failed build leaves the serving files untouched.
publish: setup
	$(BIN)/python scripts/publish.py

summary: setup
	$(BIN)/python scripts/portfolio_summary.py --db "$(HEALTH_DB_PATH)"

# The static HTML report of the serving database: $(HEALTH_SERVING_DIR)/report/index.html
report: setup
	$(BIN)/python scripts/report.py --db "$(SERVING_DB)" --out "$(HEALTH_SERVING_DIR)/report"

# dbt's documentation site (lineage from the raw sources to the CRM payload and the
# exposures) in target/: open target/index.html, or `.venv/bin/dbt docs serve`.
docs: setup
	@mkdir -p "$(dir $(HEALTH_DB_PATH))"
	$(BIN)/dbt docs generate

# The same project on a local Apache Spark (dbt-spark session mode, Java 17), over the same
# raw files: tables and metastore under HEALTH_SPARK_DIR.
export HEALTH_SPARK_DIR ?= data/spark

# The report's browser test runs Debian's Chromium (apt-get install chromium).
browser:
	@command -v chromium >/dev/null || { echo "Chromium is required for the report's browser test (Debian: apt-get install chromium)"; exit 1; }

java:
	@command -v java >/dev/null || { echo "Java 17 is required for the spark target (Debian: apt-get install openjdk-17-jre-headless)"; exit 1; }

spark: data java
	HEALTH_TARGET=spark $(BIN)/dbt build --target-path target/spark

# Build the demo on both engines and compare every mart (numbers within 0.01).
compare-engines: data build spark
	$(BIN)/python scripts/compare_engines.py --duckdb "$(HEALTH_DB_PATH)" \
		--spark-dir "$(HEALTH_SPARK_DIR)" --manifest target/spark/manifest.json

lint: setup
	$(BIN)/ruff check scripts tests models
	$(BIN)/ruff format --check scripts tests models
	HEALTH_DB_PATH=$$(mktemp -d)/lint.duckdb $(BIN)/sqlfluff lint models tests analyses

# Two workers, each running whole test files (module fixtures build once), in the order
# tests/python/conftest.py sets: the Spark comparison first.
PYTEST_WORKERS ?= 2
pytest: setup
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

test: lint pytest

clean:
	rm -rf target logs dbt_packages
