# Front door: `make run` builds the warehouse on the embedded DuckDB default;
# `make test` runs everything CI checks. Both set up .venv themselves.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

export DBT_PROFILES_DIR := $(CURDIR)
export HEALTH_RAW_DIR ?= data/raw
export HEALTH_DB_PATH ?= data/customer_health.duckdb

# Size of the demo data set that `make run` generates when HEALTH_RAW_DIR is empty.
DEMO_ACCOUNTS ?= 1000
DEMO_DAYS ?= 730
DEMO_SEED ?= 42

.PHONY: run test setup data build summary lint pytest clean spark compare-engines java

run: data build summary

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

build: setup
	@mkdir -p "$(dir $(HEALTH_DB_PATH))"
	$(BIN)/dbt build

summary: setup
	$(BIN)/python scripts/portfolio_summary.py --db "$(HEALTH_DB_PATH)"

# The same project on a local Apache Spark (dbt-spark session mode, Java 17), over the same
# raw files: tables and metastore under HEALTH_SPARK_DIR.
export HEALTH_SPARK_DIR ?= data/spark

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

pytest: setup
	$(BIN)/python -m pytest

test: lint pytest

clean:
	rm -rf target logs dbt_packages
