"""Unit tests of the publish step's parts over small DuckDB files (no dbt): the build check,
the link swap, release pruning, and a publish that is refused before anything is replaced."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from customer_health.dbt_artifacts import build_problems
from customer_health.serving.links import check_link, swap_symlink
from customer_health.serving.publish import (
    PublishRefusedError,
    ServingPaths,
    prune_releases,
    publish,
)

STARTED = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def run_results(*statuses: tuple[str, str], which: str = "build", minutes: int = 5) -> dict:
    return {
        "args": {"which": which},
        "metadata": {
            "generated_at": (STARTED + timedelta(minutes=minutes)).isoformat(),
            "invocation_id": "0123456789abcdef",
        },
        "results": [
            {"unique_id": unique_id, "status": status, "message": f"{status} message\nmore"}
            for unique_id, status in statuses
        ],
    }


def test_a_build_with_passing_and_warning_tests_can_be_published() -> None:
    results = run_results(
        ("model.customer_health.dim_account_health", "success"),
        ("test.customer_health.unique_dim_account_health_account_id", "pass"),
        ("test.customer_health.quarantine_share", "warn"),
        ("unit_test.customer_health.band_boundaries", "pass"),
        ("exposure.customer_health.portfolio_report", "no-op"),
    )
    assert build_problems(results, since=STARTED) == []


@pytest.mark.parametrize("status", ["fail", "error", "runtime error", "skipped"])
def test_a_failed_errored_or_skipped_node_blocks_the_publish(status: str) -> None:
    results = run_results(
        ("model.customer_health.stg_tickets", "success"),
        ("test.customer_health.not_null_stg_tickets_ticket_id", status),
    )
    assert build_problems(results, since=STARTED) == [
        f"test.customer_health.not_null_stg_tickets_ticket_id {status}: {status} message"
    ]


def test_run_results_of_another_command_an_older_run_or_no_tests_block_the_publish() -> None:
    assert build_problems(run_results(("model.x.y", "success"), which="run"), since=STARTED) == [
        "the run results are from `dbt run`, not `dbt build`"
    ]
    stale = run_results(("test.x.y", "pass"), minutes=-1)
    assert len(build_problems(stale, since=STARTED)) == 1
    assert "predate this build" in build_problems(stale, since=STARTED)[0]
    assert build_problems(run_results(("model.x.y", "success")), since=STARTED) == [
        "the build ran no tests"
    ]


def test_swap_symlink_replaces_the_target_and_returns_the_previous_one(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    link = tmp_path / "current"
    assert swap_symlink(link, "a") is None
    assert link.resolve() == (tmp_path / "a").resolve()
    assert swap_symlink(link, "b") == (tmp_path / "a").resolve()
    assert link.resolve() == (tmp_path / "b").resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "current"]


def test_a_real_directory_in_place_of_the_link_is_never_replaced(tmp_path: Path) -> None:
    real = tmp_path / "current"
    real.mkdir()
    (real / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a link"):
        swap_symlink(real, "elsewhere")
    with pytest.raises(FileExistsError):
        check_link(real)
    assert (real / "keep.txt").read_text() == "mine"


def test_prune_keeps_the_newest_releases_and_never_the_current_one(tmp_path: Path) -> None:
    paths = ServingPaths(tmp_path)
    names = [f"20261201T0{hour}0000000000Z" for hour in range(5)]
    for name in names:
        (paths.releases / name).mkdir(parents=True)
    assert prune_releases(paths, keep=2, current=names[-1]) == names[:3]
    assert sorted(p.name for p in paths.releases.iterdir()) == names[3:]
    # The current release survives even when it is older than the ones kept.
    assert prune_releases(paths, keep=1, current=names[3]) == []
    assert prune_releases(ServingPaths(tmp_path / "none"), keep=1, current="x") == []


def build_database(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create schema config")
        con.execute("create schema staging")
        con.execute("create table marts.dim_account (account_id varchar, score double)")
        con.execute("insert into marts.dim_account values ('A-1', 71.5), ('A-2', 38.0)")
        con.execute("create table config.bands (band_id varchar)")
        con.execute("insert into config.bands values ('healthy')")
        con.execute("create table staging.stg_secret (token varchar)")


MANIFEST: dict[str, Any] = {
    "nodes": {
        "model.customer_health.dim_account": {
            "resource_type": "model",
            "schema": "marts",
            "name": "dim_account",
            "description": "One row per account, with today's score.",
            "columns": {"score": {"description": "The health score, 0-100."}},
        }
    }
}


def test_publish_serves_the_chosen_schemas_with_comments_and_parquet(tmp_path: Path) -> None:
    build_db = tmp_path / "build.duckdb"
    build_database(build_db)
    paths = ServingPaths(tmp_path / "serving")
    release = publish(
        build_db,
        paths,
        run_results(("test.x.y", "pass")),
        MANIFEST,
        project_dir=tmp_path,
        now=STARTED,
    )
    assert release.tables == {"config.bands": 1, "marts.dim_account": 2}
    assert json.loads(paths.release_file.read_text())["release_id"] == release.release_id
    with duckdb.connect(str(paths.database), read_only=True) as con:
        schemas = {
            row[0] for row in con.execute("select schema_name from duckdb_schemas()").fetchall()
        }
        assert "staging" not in schemas
        assert con.execute(
            "select comment from duckdb_tables() where table_name = 'dim_account'"
        ).fetchone() == ("One row per account, with today's score.",)
        assert con.execute(
            "select comment from duckdb_columns() where table_name = 'dim_account'"
            " and column_name = 'score'"
        ).fetchone() == ("The health score, 0-100.",)
        assert con.execute("select release_id from main.release_info").fetchone() == (
            release.release_id,
        )
        parquet = paths.parquet / "marts" / "dim_account.parquet"
        assert con.execute(f"select count(*) from read_parquet('{parquet}')").fetchone() == (2,)
    assert paths.parquet.is_symlink()


def test_a_real_parquet_directory_refuses_the_publish_before_the_database_is_replaced(
    tmp_path: Path,
) -> None:
    build_db = tmp_path / "build.duckdb"
    build_database(build_db)
    paths = ServingPaths(tmp_path / "serving")
    first = publish(
        build_db, paths, run_results(("test.x.y", "pass")), MANIFEST, project_dir=tmp_path
    )
    served = paths.database.read_bytes()
    paths.parquet.unlink()
    paths.parquet.mkdir()
    with pytest.raises(PublishRefusedError, match="not a link"):
        publish(build_db, paths, run_results(("test.x.y", "pass")), MANIFEST, project_dir=tmp_path)
    assert paths.database.read_bytes() == served
    assert json.loads(paths.release_file.read_text())["release_id"] == first.release_id
    assert [p.name for p in paths.releases.iterdir()] == [first.release_id]
    assert not [p for p in paths.root.iterdir() if p.name.endswith(".tmp")]


def test_a_build_database_without_served_tables_is_refused(tmp_path: Path) -> None:
    build_db = tmp_path / "build.duckdb"
    with duckdb.connect(str(build_db)) as con:
        con.execute("create table main.other as select 1 as x")
    paths = ServingPaths(tmp_path / "serving")
    with pytest.raises(PublishRefusedError, match="no table in marts, config"):
        publish(build_db, paths, run_results(("test.x.y", "pass")), MANIFEST, project_dir=tmp_path)
    assert not paths.database.exists()
    assert list(paths.releases.iterdir()) == []
