"""The cross-engine comparison: keys, tolerance, nulls, columns, duplicates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from customer_health.compare_engines import Mart, compare, marts_from_manifest

MART = Mart(name="fct_scores", schema="marts", key=["account_id", "score_date"])
DAY = dt.date(2025, 1, 31)


def rows(**changes: Any) -> list[dict[str, Any]]:
    base = [
        {"account_id": "a1", "score_date": DAY, "health_score": 81.2, "health_band": "healthy"},
        {"account_id": "a2", "score_date": DAY, "health_score": 39.9, "health_band": "critical"},
        {"account_id": "a3", "score_date": DAY, "health_score": None, "health_band": None},
    ]
    for account_id, values in changes.items():
        for row in base:
            if row["account_id"] == account_id:
                row.update(values)
    return base


@pytest.fixture
def duck(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_scores (account_id varchar, score_date date,"
            " health_score double, health_band varchar)"
        )
        for row in rows():
            con.execute("insert into marts.fct_scores values (?, ?, ?, ?)", list(row.values()))
    return path


def spark_side(data: list[dict[str, Any]]) -> dict[str, pa.Table]:
    return {MART.name: pa.Table.from_pylist(data)}


def test_equal_tables_match(duck: Path) -> None:
    (result,) = compare(duck, spark_side(rows()), [MART], 0.01)
    assert result.matches, result
    assert (result.duckdb_rows, result.spark_rows) == (3, 3)


def test_numbers_within_the_tolerance_match(duck: Path) -> None:
    (result,) = compare(duck, spark_side(rows(a1={"health_score": 81.209})), [MART], 0.01)
    assert result.matches, result


def test_a_number_beyond_the_tolerance_differs(duck: Path) -> None:
    (result,) = compare(duck, spark_side(rows(a1={"health_score": 81.22})), [MART], 0.01)
    assert not result.matches
    assert result.differing_columns == {"health_score": 1}
    assert result.examples == [
        "health_score at account_id=a1, score_date=2025-01-31: duckdb=81.2 spark=81.22"
    ]


def test_a_null_against_a_value_differs(duck: Path) -> None:
    changed = rows(a3={"health_score": 0.0, "health_band": "critical"})
    (result,) = compare(duck, spark_side(changed), [MART], 0.01)
    assert result.differing_columns == {"health_score": 1, "health_band": 1}


def test_text_must_be_equal(duck: Path) -> None:
    (result,) = compare(duck, spark_side(rows(a2={"health_band": "at_risk"})), [MART], 0.01)
    assert result.differing_columns == {"health_band": 1}


def test_keys_on_one_side_only_and_duplicates_are_counted(duck: Path) -> None:
    changed = [*rows()[:2], rows()[0], {**rows()[0], "account_id": "a9"}]
    (result,) = compare(duck, spark_side(changed), [MART], 0.01)
    assert not result.matches
    assert result.only_in == {"duckdb": 1, "spark": 1}
    assert result.duplicate_keys == {"duckdb": 0, "spark": 1}


def test_a_missing_column_differs(duck: Path) -> None:
    changed = [{k: v for k, v in row.items() if k != "health_band"} for row in rows()]
    (result,) = compare(duck, spark_side(changed), [MART], 0.01)
    assert result.missing_columns == {"spark": ["health_band"]}
    assert not result.matches


def test_marts_and_their_keys_come_from_the_manifest() -> None:
    manifest = {
        "nodes": {
            "model.p.fct_scores": {
                "resource_type": "model",
                "name": "fct_scores",
                "schema": "marts",
                "original_file_path": "models/marts/health/fct_scores.sql",
            },
            "model.p.dim_accounts": {
                "resource_type": "model",
                "name": "dim_accounts",
                "schema": "marts",
                "original_file_path": "models/marts/health/dim_accounts.sql",
            },
            "model.p.int_scores": {
                "resource_type": "model",
                "name": "int_scores",
                "schema": "intermediate",
                "original_file_path": "models/intermediate/int_scores.sql",
            },
            "test.p.key": {
                "resource_type": "test",
                "attached_node": "model.p.fct_scores",
                "test_metadata": {
                    "name": "unique_combination_of_columns",
                    "kwargs": {"combination_of_columns": ["account_id", "score_date"]},
                },
            },
            "test.p.unique": {
                "resource_type": "test",
                "attached_node": "model.p.dim_accounts",
                "test_metadata": {"name": "unique", "kwargs": {"column_name": "account_id"}},
            },
        }
    }
    assert marts_from_manifest(manifest) == [
        Mart(name="dim_accounts", schema="marts", key=["account_id"]),
        Mart(name="fct_scores", schema="marts", key=["account_id", "score_date"]),
    ]
    del manifest["nodes"]["test.p.unique"]
    with pytest.raises(SystemExit, match="dim_accounts has no primary-key test"):
        marts_from_manifest(manifest)


def test_a_missing_key_column_is_reported_without_a_join(duck: Path) -> None:
    changed = [{k: v for k, v in row.items() if k != "score_date"} for row in rows()]
    (result,) = compare(duck, spark_side(changed), [MART], 0.01)
    assert result.missing_columns == {"spark": ["score_date"]}
    assert (result.duckdb_rows, result.spark_rows) == (3, 3)
    assert not result.matches


def test_the_largest_numeric_difference_is_reported(duck: Path) -> None:
    (result,) = compare(duck, spark_side(rows(a2={"health_score": 39.904})), [MART], 0.01)
    assert result.matches
    assert result.max_numeric_difference == pytest.approx(0.004)
