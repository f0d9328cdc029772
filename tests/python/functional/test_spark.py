"""The same project on Apache Spark (dbt-spark session mode), compared with DuckDB.

On generated data with injected defects, the Spark warehouse is built in full, then takes
the next day's delivery and a late file in an incremental run: insert_overwrite of the
recomputed score_date partitions, and of the re-staged days of the streamed tables. Every
mart must then equal DuckDB's full build of the same files: same keys, same bands, outcomes,
paths and trends, numbers within 0.01. The comparison itself is shown to fail when a mart
differs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
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

from customer_health.churn_model.scorecard import (
    Observations,
    Settings,
    fit_walk_forward,
    scorecard_table,
)

pytestmark = pytest.mark.functional

COMPARE = ["-m", "customer_health", "compare-engines"]
MART_COUNT = 30
# 121 days leave no month-end a 90-day horizon after it: both engines back-test 30 days.
HORIZON = 30
# Spark has no Python models: both engines apply the same churn-model scorecard file (a
# DuckDB build without the file would train its own).
SCORECARD_FEATURES = (
    "key_events_30d",
    "health_score",
    "renews_within_horizon",
    "open_ticket_count",
    "latest_nps_score",
)


def scorecard_file(path: Path) -> Path:
    """A scorecard of two versions (2024-02-29, 2024-03-31) on five features, trained on
    synthetic observations in which churn falls with key events and the score and rises
    with open tickets; NPS is often missing, so its no-value bin carries points."""
    rng = np.random.default_rng(3)
    n = 4000
    dates = np.array(["2023-06-30", "2023-09-30", "2023-12-31"], dtype="datetime64[D]")
    as_of = dates[rng.integers(0, len(dates), n)]
    key_events = rng.poisson(rng.gamma(2.0, 20.0, n)).astype(float)
    score = np.clip(rng.normal(65, 15, n), 0, 100)
    renews = (rng.random(n) < 0.3).astype(float)
    tickets = rng.poisson(1.0, n).astype(float)
    nps = np.where(rng.random(n) < 0.6, np.nan, rng.integers(0, 11, n).astype(float))
    logit = -3.0 - 0.02 * key_events - 0.03 * (score - 65) + 1.2 * renews + 0.3 * tickets
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    observations = Observations(
        account_id=np.array([f"acc_{i:05d}" for i in range(n)]),
        as_of_date=as_of,
        segment=np.array(["SMB"] * n),
        is_churned=churned,
        features={
            "key_events_30d": key_events,
            "health_score": score,
            "renews_within_horizon": renews,
            "open_ticket_count": tickets,
            "latest_nps_score": nps,
        },
    )
    models = fit_walk_forward(
        observations,
        Settings(horizon_days=HORIZON, min_churned=20),
        SCORECARD_FEATURES,
        np.array(["2024-02-29", "2024-03-31"], dtype="datetime64[D]"),
    )
    table = scorecard_table(models)
    assert set(table.column("model_name").to_pylist()) == {
        "churn_model",
        "health_score",
        "key_events_30d",
    }
    pq.write_table(table, path)
    return path


def build_vars(scorecard: Path) -> str:
    return json.dumps(
        {"backtest_horizon_days": HORIZON, "churn_model_scorecard_file": str(scorecard)}
    )


def require_java() -> None:
    if shutil.which("java") is None:
        pytest.fail("The Spark build needs Java 17 (apt-get install openjdk-17-jre-headless)")


@dataclass
class Builds:
    """The same raw files built on Spark (full, then incremental) and on DuckDB (full)."""

    spark_work: Path
    duck: DbtProject
    scorecard: Path


def dbt_build(
    work: Path,
    raw: Path,
    target: str,
    scorecard: Path,
    tests: bool = True,
    unit_tests: bool = True,
) -> subprocess.CompletedProcess[str]:
    """`dbt build` in its own process (neither engine's connection stays open here); without
    `tests`, the seeds and models only; without `unit_tests`, no unit tests."""
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
            build_vars(scorecard),
            *([] if tests else ["--exclude", "resource_type:test", "resource_type:unit_test"]),
            *([] if unit_tests else ["--exclude-resource-type", "unit_test"]),
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
    require_java()
    tmp = tmp_path_factory.mktemp("engines")
    scorecard = scorecard_file(tmp / "scorecard.parquet")
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
    # The data and unit tests run on Spark once, in the incremental build that the marts are
    # compared after: the first build only lays down the history it continues.
    first = dbt_build(work, raw, "spark", scorecard, tests=False)
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
    second = dbt_build(work, raw, "spark", scorecard)
    assert second.returncode == 0, second.stdout[-6000:] + second.stderr[-3000:]
    for model in ("base_product__user_activity_daily", "int_account_days"):
        assert "insert overwrite table" in run_sql(work, model), model

    duck_work = tmp / "duckdb_build"
    duck_work.mkdir()
    # DuckDB runs the unit tests in the clean build (test_scoring); here its data tests only
    built = dbt_build(duck_work, raw, "duckdb", scorecard, unit_tests=False)
    assert built.returncode == 0, built.stdout[-6000:] + built.stderr[-3000:]
    return Builds(spark_work=work, duck=project_for(duck_work, raw), scorecard=scorecard)


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


def test_the_local_spark_jvm_runs_the_parallel_garbage_collector() -> None:
    """The local Spark runs in one JVM started with the profile's driver options: they choose
    the parallel collector, and this Java starts with them (an option it does not know
    would stop every Spark build)."""
    require_java()
    profile = yaml.safe_load((PROJECT_DIR / "profiles.yml").read_text())
    parameters = profile["customer_health"]["outputs"]["spark"]["server_side_parameters"]
    options = [
        o for o in parameters["spark.driver.extraJavaOptions"].split() if o.startswith("-XX:")
    ]
    completed = subprocess.run(
        ["java", *options, "-XX:+PrintCommandLineFlags", "-version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    flags = (completed.stdout + completed.stderr).split()
    assert "-XX:+UseParallelGC" in flags
    assert "-XX:+UseG1GC" not in flags


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
    # Both engines applied the scorecard file: the days from its first version on have a
    # churn probability (compared above, with the risk factors and levels).
    assert "from_file/rpt_churn_model_scorecard.sql" in manifest
    statuses = dict(
        builds.duck.query(
            "select churn_model_status, count(*) from marts.fct_account_churn_risk_daily"
            " group by churn_model_status"
        )
    )
    assert statuses["scored"] > 1000, statuses
    assert statuses["no_model"] > 100, statuses
    assert builds.duck.query(
        "select count(*) from marts.fct_account_churn_risk_daily"
        " where churn_model_status = 'scored' and score_date < date '2024-02-29'"
    ) == [(0,)]
    assert (
        builds.duck.query(
            "select count(distinct risk_factor_1) from marts.fct_account_churn_risk_daily"
        )[0][0]
        >= 2
    )


def test_a_spark_deployment_trains_the_scorecard_it_then_applies(
    builds: Builds, tmp_path: Path
) -> None:
    """Spark has no Python models: `customer-health churn-model train --spark-dir` trains the
    scorecard from the Spark warehouse's observations, outside dbt. It equals what DuckDB
    trains from its own observations of the same data."""
    train_vars = json.dumps({"backtest_horizon_days": HORIZON, "churn_model_min_churned": 1})
    trained = {}
    for engine, source in (
        ("spark", ["--spark-dir", str(builds.spark_work / "spark")]),
        ("duckdb", ["--duckdb", str(builds.duck.db_path)]),
    ):
        out = tmp_path / f"{engine}.parquet"
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "customer_health",
                "churn-model",
                "train",
                *source,
                "--out",
                str(out),
                "--vars",
                train_vars,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert completed.returncode == 0, completed.stdout + completed.stderr
        trained[engine] = pq.read_table(out)
    spark, duck = trained["spark"], trained["duckdb"]
    assert spark.num_rows > 0
    assert spark.schema.remove_metadata().equals(duck.schema.remove_metadata())
    keys = ["model_name", "model_version", "feature_name", "bin_number"]
    spark_rows = sorted(spark.to_pylist(), key=lambda r: [str(r[k]) for k in keys])
    duck_rows = sorted(duck.to_pylist(), key=lambda r: [str(r[k]) for k in keys])
    assert len(spark_rows) == len(duck_rows)
    for left, right in zip(spark_rows, duck_rows, strict=True):
        for name, value in left.items():
            if name == "training_fingerprint":
                # a digest of the engine's own feature values, which may differ in the last
                # bits between engines: it only decides reuse within one warehouse
                continue
            if isinstance(value, float):
                assert value == pytest.approx(right[name], rel=1e-6, abs=1e-9), (name, left)
            else:
                assert value == right[name], (name, left)


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
