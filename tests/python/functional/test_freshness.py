"""Source freshness on generated data: each raw table's newest `_loaded_at` against the
thresholds of the vars source_freshness_warn_hours / source_freshness_error_hours."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt.cli.main import dbtRunnerResult
from harness import (
    TABLE_SOURCES,
    DbtProject,
    HealthgenExtract,
    first_raw_row,
    project_for,
    write_rows,
)
from rich.console import Console

from customer_health import dbt_artifacts
from customer_health import summary as portfolio_summary

pytestmark = pytest.mark.functional

# Every raw table of the contract, as `source.table`.
CONTRACT_TABLES = {f"{source}.{table}" for table, source in TABLE_SOURCES.items()}
# Hours no generated extract is older than.
HUGE_HOURS = 10_000_000


@pytest.fixture(scope="module")
def extract(healthgen_extract: HealthgenExtract) -> Path:
    """A small historical extract: its newest `_loaded_at` lies long in the past."""
    return healthgen_extract(accounts=30, days=45, seed=5)


def check_freshness(
    project: DbtProject, *args: str, dbt_vars: dict[str, Any] | None = None
) -> tuple[dbtRunnerResult, dict[str, Any]]:
    """`dbt source freshness`, as `make run` runs it: sources.json in the target path."""
    target = project.work_dir / "target"
    (target / "sources.json").unlink(missing_ok=True)
    result = project.invoke("source", "freshness", *args, dbt_vars=dbt_vars)
    sources = dbt_artifacts.read_sources(target)
    assert sources is not None, result.exception
    return result, sources


def by_table(sources: dict[str, Any]) -> dict[str, Mapping[str, Any]]:
    """source.table -> its freshness result."""
    return dict(portfolio_summary.freshness_results(sources))


def newest_loaded_at(raw_dir: Path, table: str) -> datetime:
    with duckdb.connect() as con:
        row = con.execute(
            "select max(cast(_loaded_at as timestamptz)) from "
            f"read_parquet('{raw_dir}/{table}/*.parquet', union_by_name = true)"
        ).fetchone()
    assert row is not None
    newest: datetime = row[0]
    return newest


def test_historical_extract_is_stale_with_default_thresholds(tmp_path: Path, extract: Path) -> None:
    project = project_for(tmp_path, extract)
    result, sources = check_freshness(project)
    assert not result.success
    tables = by_table(sources)
    assert set(tables) == CONTRACT_TABLES
    assert {name: r["status"] for name, r in tables.items()} == dict.fromkeys(
        CONTRACT_TABLES, "error"
    )
    for name, table_result in tables.items():
        # The vars' defaults, rendered as numbers.
        assert table_result["criteria"]["warn_after"] == {"count": 36, "period": "hour"}
        assert table_result["criteria"]["error_after"] == {"count": 72, "period": "hour"}
        # The newest `_loaded_at` of the raw files, as an instant.
        loaded_at = datetime.fromisoformat(table_result["max_loaded_at"])
        assert loaded_at == newest_loaded_at(extract, name.split(".")[1]), name
        assert table_result["max_loaded_at_time_ago_in_s"] > 72 * 3600


@pytest.mark.parametrize(
    ("dbt_vars", "expected", "success"),
    [
        (
            {"source_freshness_warn_hours": HUGE_HOURS, "source_freshness_error_hours": HUGE_HOURS},
            "pass",
            True,
        ),
        ({"source_freshness_error_hours": HUGE_HOURS}, "warn", True),
    ],
    ids=["both-raised", "error-raised"],
)
def test_thresholds_follow_the_vars(
    tmp_path: Path, extract: Path, dbt_vars: dict[str, int], expected: str, success: bool
) -> None:
    project = project_for(tmp_path, extract)
    result, sources = check_freshness(project, dbt_vars=dbt_vars)
    assert result.success is success
    tables = by_table(sources)
    assert {name: r["status"] for name, r in tables.items()} == dict.fromkeys(
        CONTRACT_TABLES, expected
    )
    error_after = tables["crm.accounts"]["criteria"]["error_after"]
    assert error_after == {"count": HUGE_HOURS, "period": "hour"}


def test_loaded_at_offset_is_honoured(tmp_path: Path, extract: Path) -> None:
    """A `_loaded_at` 30 hours ago written at UTC-12 is fresh: read without its offset it
    would be 42 hours old and warn."""
    raw = tmp_path / "raw"
    shutil.copytree(extract / "features", raw / "features")
    loaded = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=30)
    local = loaded.astimezone(timezone(timedelta(hours=-12)))
    row = first_raw_row(extract, "features")
    write_rows(raw / "features" / "late.parquet", [{**row, "_loaded_at": local.isoformat()}])
    project = project_for(tmp_path, raw)
    result, sources = check_freshness(project, "--select", "source:product.features")
    assert result.success, result.exception
    features = by_table(sources)["product.features"]
    assert features["status"] == "pass"
    assert datetime.fromisoformat(features["max_loaded_at"]) == loaded


def test_summary_names_the_stale_sources(
    tmp_path: Path, clean_build: tuple[DbtProject, dbtRunnerResult]
) -> None:
    built, _ = clean_build
    # Freshness of the warehouse's raw files, checked in a project directory of its own.
    _, sources = check_freshness(project_for(tmp_path, built.raw_dir))
    console = Console(record=True, width=400)
    with duckdb.connect(str(built.db_path)) as con:
        assert portfolio_summary.render(con, console, "test", sources=sources) == 0
    lines = console.export_text().splitlines()
    assert not any("not checked" in line for line in lines)
    # The freshness table: from its title to the line naming the stale tables.
    title = next(i for i, line in enumerate(lines) if line.strip().startswith("Source freshness"))
    stale = next(i for i, line in enumerate(lines) if line.startswith("Stale sources"))
    rows = [
        [cell.strip() for cell in line.strip("│ ").split("│")]
        for line in lines[title:stale]
        if line.startswith("│")
    ]
    assert {row[0]: row[-1] for row in rows} == dict.fromkeys(CONTRACT_TABLES, "error")
    assert lines[stale].startswith(f"Stale sources ({len(CONTRACT_TABLES)}): ")
    assert set(lines[stale].split(": ", 1)[1].split(", ")) == CONTRACT_TABLES


def test_summary_without_freshness_says_it_was_not_checked(
    clean_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    built, _ = clean_build
    console = Console(record=True, width=400)
    with duckdb.connect(str(built.db_path)) as con:
        assert portfolio_summary.render(con, console, "test") == 0
    text = console.export_text()
    assert "Source freshness was not checked" in text
    assert "Stale sources" not in text
