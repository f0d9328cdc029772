"""The same project on Apache Spark (dbt-spark session mode), compared with DuckDB.

On generated data with injected defects, the Spark warehouse is built in full, then takes
the next day's delivery and a late file in an incremental run: insert_overwrite of the
recomputed score_date partitions, and of the re-staged days of the streamed tables. Every
mart must then equal DuckDB's full build of the same files: same keys, same bands, outcomes,
paths and trends, numbers within 0.01. The comparison itself is shown to fail when a mart
differs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from harness import (
    PROJECT_DIR,
    DbtProject,
    deliver_next_day,
    extract_with_next_day,
    first_raw_row,
    project_for,
    rewrite_typed,
    write_csv,
    write_rows,
)

pytestmark = pytest.mark.functional

COMPARE = ["-m", "customer_health", "compare-engines"]
MART_COUNT = 15
# 121 days leave no month-end a 90-day horizon after it: both engines back-test 30 days.
BACKTEST_VARS = '{"backtest_horizon_days": 30}'


@dataclass
class Builds:
    """The same raw files built on Spark (full, then incremental) and on DuckDB (full)."""

    spark_work: Path
    duck: DbtProject


def dbt_build(work: Path, raw: Path, target: str) -> subprocess.CompletedProcess[str]:
    """`dbt build` in its own process (neither engine's connection stays open here)."""
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "HEALTH_TARGET": target,
        "HEALTH_SPARK_DIR": str(work / "spark"),
        "HEALTH_DB_PATH": str(work / "warehouse.duckdb"),
        "HEALTH_RAW_DIR": str(raw),
    }
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "build",
            "--project-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
            "--no-partial-parse",
            "--vars",
            BACKTEST_VARS,
        ],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )


def run_sql(work: Path, model: str) -> str:
    """The statements dbt ran for a model in its last run."""
    return "\n".join(p.read_text() for p in (work / "target" / "run").rglob(f"{model}.sql"))


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    if shutil.which("java") is None:
        pytest.fail("The Spark build needs Java 17 (apt-get install openjdk-17-jre-headless)")
    tmp = tmp_path_factory.mktemp("engines")
    cache, raw = extract_with_next_day(tmp, accounts=100, days=120, seed=13)
    # The first delivery as real exports come: one table with typed columns, one as CSV,
    # an optional table absent (the next day's delivery brings it).
    for part in sorted((raw / "contracts").glob("*.parquet")):
        rewrite_typed(
            part,
            "select contract_id, account_id, contract_type,"
            " try_cast(start_date as date) as start_date,"
            " end_date, try_cast(arr as double) as arr,"
            " try_cast(licensed_seats as bigint) as licensed_seats,"
            " try_cast(auto_renew as boolean) as auto_renew, status,"
            " try_cast(signed_at as timestamptz) as signed_at,"
            " try_cast(_loaded_at as timestamptz) as _loaded_at from read_parquet('{file}')",
        )
    write_csv(raw / "features")
    shutil.rmtree(raw / "stakeholder_events")
    work = tmp / "spark_build"
    work.mkdir()
    first = dbt_build(work, raw, "spark")
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]

    # The next day, and a late file: a newer version of a staged row (an old day is
    # re-staged), a row without a user and a row whose day cannot be read.
    deliver_next_day(cache, raw)
    old = first_raw_row(raw, "user_activity_daily")
    late = [
        {**old, "sessions": "42", "_loaded_at": "2024-05-02T00:00:00Z"},
        {**old, "user_id": None},
        {**old, "activity_date": "not a date"},
    ]
    write_rows(raw / "user_activity_daily" / "part-late-00001.parquet", late)
    second = dbt_build(work, raw, "spark")
    assert second.returncode == 0, second.stdout[-6000:] + second.stderr[-3000:]
    for model in ("base_product__user_activity_daily", "int_account_days"):
        assert "insert overwrite table" in run_sql(work, model), model

    duck_work = tmp / "duckdb_build"
    duck_work.mkdir()
    built = dbt_build(duck_work, raw, "duckdb")
    assert built.returncode == 0, built.stdout[-6000:] + built.stderr[-3000:]
    return Builds(spark_work=work, duck=project_for(duck_work, raw))


def compare(duckdb_path: Path, spark_work: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            *COMPARE,
            "--duckdb",
            str(duckdb_path),
            "--spark-dir",
            str(spark_work / "spark"),
            "--manifest",
            str(spark_work / "target" / "manifest.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_spark_incremental_build_equals_the_duckdb_full_build(builds: Builds) -> None:
    completed = compare(builds.duck.db_path, builds.spark_work)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert f"All {MART_COUNT} marts are equal" in completed.stdout
    # The data-quality marts saw the injected defects and the late rows.
    quarantined = builds.duck.query(
        "select rejection_reason, rejected_rows from marts.rpt_quarantine_reasons"
        " where table_name = 'user_activity_daily'"
    )
    reasons = dict(quarantined)
    assert reasons["missing_user_id"] >= 1
    assert reasons["unparseable_activity_date"] >= 1
    assert reasons["superseded_version"] >= 1
    # The back-test marts were compared with content: month-ends with churn after them, and
    # a suggested weight set for the portfolio.
    observed = builds.duck.query(
        "select count(distinct as_of_date), count(*), sum(case when is_churned then 1 else 0 end)"
        " from marts.fct_health_backtest_observations"
    )[0]
    assert observed[0] >= 2, observed
    assert observed[1] > 100, observed
    assert observed[2] >= 1, observed
    suggested = builds.duck.query(
        "select count(*) from marts.rpt_health_weight_calibration"
        " where segment = 'all' and suggested_weight is not null"
    )[0][0]
    assert suggested == 5
    # The decision tree ran as SQL on Spark (the Python model is DuckDB's).
    manifest = (builds.spark_work / "target" / "manifest.json").read_text()
    assert "compiled_sql/fct_account_health_decision_tree.sql" in manifest


def test_the_comparison_fails_when_a_mart_differs(tmp_path: Path, builds: Builds) -> None:
    changed = tmp_path / "changed.duckdb"
    shutil.copy2(builds.duck.db_path, changed)
    with duckdb.connect(str(changed)) as con:
        # A score off by more than the tolerance, and another within it.
        con.execute(
            "update marts.fct_account_health_daily set health_score = health_score + 0.02"
            " where (account_id, score_date) = (select (account_id, score_date)"
            " from marts.fct_account_health_daily where health_score < 90"
            " order by account_id, score_date limit 1)"
        )
        con.execute(
            "update marts.fct_account_health_daily set usage_score = usage_score + 0.005"
            " where usage_score < 99"
        )
        # Another band, another decision path, a missing account.
        con.execute(
            "update marts.dim_account_health set health_band = 'critical'"
            " where account_id = (select min(account_id) from marts.dim_account_health"
            " where health_band <> 'critical')"
        )
        con.execute(
            "update marts.fct_account_health_decision_tree set decision_path = 'Q1:yes'"
            " where account_id = (select min(account_id)"
            " from marts.fct_account_health_decision_tree)"
        )
        con.execute(
            "delete from marts.sync_crm_account_health"
            " where health_account_id = (select max(health_account_id)"
            " from marts.sync_crm_account_health)"
        )
    completed = compare(changed, builds.spark_work)
    output = completed.stdout
    assert completed.returncode == 1, output + completed.stderr
    assert f"4 of {MART_COUNT} marts differ" in output
    assert "health_score: 1 rows differ" in output
    assert "usage_score" not in output
    assert "health_band: 1 rows differ" in output
    assert "decision_path" in output
    assert "1 keys only on spark" in output
