"""Unit tests of the publish step's parts over small DuckDB files (no dbt): the build check,
the link swap, the release gates, crash safety (a publish stopped at every step, in process
and by SIGKILL) and the ownership rule (nothing the project did not write is deleted)."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

import customer_health.serving.cli as publish_cli
import customer_health.serving.publish as publishing
from customer_health.dbt_artifacts import build_problems
from customer_health.serving.links import check_link, swap_symlink
from customer_health.serving.publish import (
    NEVER_EMPTY_MARTS,
    PublishRefusedError,
    Release,
    ReleaseGates,
    ServingPaths,
    prepare,
    prune_releases,
    publish,
)

STARTED = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
AS_OF = "2026-11-30"


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


PASSED = run_results(("test.x.y", "pass"))


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


# --- small build databases and what a serving directory holds -----------------------------


def build_database(
    path: Path,
    *,
    accounts: int = 10,
    as_of: str = AS_OF,
    empty: tuple[str, ...] = (),
    missing: tuple[str, ...] = (),
) -> None:
    """A build database with the gated marts (`accounts` rows each; those in `empty` with
    none, those in `missing` not built), an alerts mart that is empty, a config seed and a
    staging table that is not served."""
    path.unlink(missing_ok=True)
    tables = {
        "marts.fct_account_health_daily": (
            "select 'A-' || i as account_id, date '{as_of}' - cast(d as integer) as score_date, "
            "50.0 + i as health_score from range({n}) r(i), range(2) s(d)"
        ),
        "marts.dim_account_health": "select 'A-' || i as account_id from range({n}) r(i)",
        "marts.sync_crm_account_health": (
            "select 'A-' || i as health_account_id from range({n}) r(i)"
        ),
        "marts.rpt_portfolio_health_weekly": (
            "select date '{as_of}' - cast(7 * i as integer) as week_start, {n} as accounts "
            "from range({weeks}) r(i)"
        ),
        "marts.fct_health_alerts": "select 'A-1' as account_id where false",
    }
    with duckdb.connect(str(path)) as con:
        for schema in ("marts", "config", "staging"):
            con.execute(f"create schema {schema}")
        for name, sql in tables.items():
            if name in missing:
                continue
            rows = 0 if name in empty else accounts
            con.execute(
                f"create table {name} as " + sql.format(as_of=as_of, n=rows, weeks=2 if rows else 0)
            )
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


def publish_at(
    build_db: Path,
    paths: ServingPaths,
    minute: int,
    gates: ReleaseGates | None = None,
    schemas: tuple[str, ...] = publishing.SERVED_SCHEMAS,
) -> Release:
    return publish(
        build_db,
        paths,
        PASSED,
        MANIFEST,
        project_dir=build_db.parent,
        schemas=schemas,
        gates=gates or ReleaseGates(),
        now=STARTED + timedelta(minutes=minute),
    )


def snapshot(root: Path) -> dict[str, object]:
    """Every file under a directory: bytes (and inode) of files, targets of links."""
    found: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if path.is_symlink():
            found[name] = ("link", os.readlink(path))
        elif path.is_file():
            found[name] = (path.read_bytes(), path.stat().st_ino)
        else:
            found[name] = "dir"
    return found


def served_ids(paths: ServingPaths) -> tuple[str, str, str, str]:
    """The release named by the database, release.json, the Parquet link and the record in
    the linked folder."""
    with duckdb.connect(str(paths.database), read_only=True) as con:
        row = con.execute("select release_id from main.release_info").fetchone()
    assert row is not None
    link = Path(os.readlink(paths.parquet))
    assert link.parts[0] == ".releases"
    assert link.parts[2] == "parquet"
    record = json.loads((paths.parquet / "_release.json").read_text())
    return (
        str(row[0]),
        json.loads(paths.release_file.read_text())["release_id"],
        link.parts[1],
        record["release_id"],
    )


def assert_consistent(paths: ServingPaths) -> str:
    """The database, release.json and the Parquet link name one release, whose tables they
    all hold; nothing but served files is left, and every release folder is complete."""
    record = json.loads(paths.release_file.read_text())
    assert json.loads((paths.parquet / "_release.json").read_text()) == record
    link = Path(os.readlink(paths.parquet))
    assert link.parts == (".releases", record["release_id"], "parquet")
    with duckdb.connect(str(paths.database), read_only=True) as con:
        served = con.execute("select release_id from main.release_info").fetchone()
        assert served == (record["release_id"],)
        for name, rows in record["tables"].items():
            assert con.execute(f"select count(*) from {name}").fetchone() == (rows,), name
            parquet = paths.parquet / Path(*name.split(".")).with_suffix(".parquet")
            assert con.execute(f"select count(*) from '{parquet}'").fetchone() == (rows,), name
    names = {p.name for p in paths.root.iterdir()} - {paths.lock.name}
    assert sorted(names) == [
        ".customer-health-serving",
        ".releases",
        "customer_health.duckdb",
        "parquet",
        "release.json",
    ]
    for folder in paths.releases.iterdir():
        record = json.loads((folder / "parquet" / "_release.json").read_text())
        assert record["release_id"] == folder.name
    return str(served[0])


def release_names(paths: ServingPaths) -> list[str]:
    return sorted(p.name for p in paths.releases.iterdir())


# --- what a publish serves ----------------------------------------------------------------


def test_publish_serves_the_chosen_schemas_with_comments_and_parquet(tmp_path: Path) -> None:
    build_db = tmp_path / "build.duckdb"
    build_database(build_db)
    paths = ServingPaths(tmp_path / "serving")
    release = publish(build_db, paths, PASSED, MANIFEST, project_dir=tmp_path, now=STARTED)
    assert release.tables == {
        "config.bands": 1,
        "marts.dim_account": 2,
        "marts.dim_account_health": 10,
        "marts.fct_account_health_daily": 20,
        # A mart that may be empty on a quiet portfolio is served empty.
        "marts.fct_health_alerts": 0,
        "marts.rpt_portfolio_health_weekly": 2,
        "marts.sync_crm_account_health": 10,
    }
    assert release.as_of_date == AS_OF
    record = json.loads(paths.release_file.read_text())
    assert {"release_id", "dbt_invocation_id", "as_of_date", "tables"} <= set(record)
    assert record["release_id"] == release.release_id
    assert record["dbt_invocation_id"] == "0123456789abcdef"
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
    assert assert_consistent(paths) == release.release_id


def test_a_real_parquet_directory_refuses_the_publish_before_the_database_is_replaced(
    tmp_path: Path,
) -> None:
    build_db = tmp_path / "build.duckdb"
    build_database(build_db)
    paths = ServingPaths(tmp_path / "serving")
    first = publish(build_db, paths, PASSED, MANIFEST, project_dir=tmp_path)
    served = paths.database.read_bytes()
    paths.parquet.unlink()
    paths.parquet.mkdir()
    with pytest.raises(PublishRefusedError, match="not a link"):
        publish(build_db, paths, PASSED, MANIFEST, project_dir=tmp_path)
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
        publish(build_db, paths, PASSED, MANIFEST, project_dir=tmp_path)
    assert not paths.root.exists()


# --- the release gates ----------------------------------------------------------------------


def test_empty_marts_refuse_the_release_and_the_good_one_stays_served(tmp_path: Path) -> None:
    """One bad raw row left the daily scores, the account dimension and the CRM payload
    empty while every test passed: the release is refused, every served file untouched."""
    build_db = tmp_path / "build.duckdb"
    build_database(build_db)
    paths = ServingPaths(tmp_path / "serving")
    good = publish_at(build_db, paths, 0)
    before = snapshot(paths.root)
    empty = (
        "marts.fct_account_health_daily",
        "marts.dim_account_health",
        "marts.sync_crm_account_health",
    )
    build_database(build_db, empty=empty)
    with pytest.raises(PublishRefusedError) as refused:
        publish_at(build_db, paths, 1, ReleaseGates(allow_shrink=True, allow_earlier_as_of=True))
    assert refused.value.problems == [
        f"{name} is empty: it must never be served empty" for name in empty
    ]
    assert snapshot(paths.root) == before
    assert assert_consistent(paths) == good.release_id


def test_every_never_empty_mart_is_gated_and_only_those(tmp_path: Path) -> None:
    assert NEVER_EMPTY_MARTS == (
        "marts.fct_account_health_daily",
        "marts.dim_account_health",
        "marts.sync_crm_account_health",
        "marts.rpt_portfolio_health_weekly",
    )
    build_db = tmp_path / "build.duckdb"
    for name in NEVER_EMPTY_MARTS:
        build_database(build_db, empty=(name,))
        # The first publish (nothing served) applies the empty check too.
        with pytest.raises(PublishRefusedError, match=f"{name} is empty"):
            publish(build_db, ServingPaths(tmp_path / "s"), PASSED, MANIFEST, project_dir=tmp_path)
        assert not (tmp_path / "s").exists()
    build_database(build_db, missing=("marts.rpt_portfolio_health_weekly",))
    with pytest.raises(PublishRefusedError, match="weekly is missing from the build"):
        publish(build_db, ServingPaths(tmp_path / "s"), PASSED, MANIFEST, project_dir=tmp_path)
    # Not serving the marts schema, no mart is gated.
    release = publish(
        build_db,
        ServingPaths(tmp_path / "s"),
        PASSED,
        MANIFEST,
        project_dir=tmp_path,
        schemas=("config",),
    )
    assert release.tables == {"config.bands": 1}


@pytest.mark.parametrize(
    ("accounts", "gates", "published"),
    [
        (8, ReleaseGates(), True),  # 20% fewer rows: the default allows it
        (7, ReleaseGates(), False),  # 30% fewer
        (7, ReleaseGates(max_shrink=0.3), True),
        (1, ReleaseGates(max_shrink=0.3), False),
        (1, ReleaseGates(allow_shrink=True), True),
        (12, ReleaseGates(max_shrink=0.0), True),  # growing is never a shrink
    ],
)
def test_a_table_may_not_shrink_by_more_than_the_allowed_share(
    tmp_path: Path, accounts: int, gates: ReleaseGates, published: bool
) -> None:
    build_db = tmp_path / "build.duckdb"
    build_database(build_db)
    paths = ServingPaths(tmp_path / "serving")
    first = publish_at(build_db, paths, 0)
    before = snapshot(paths.root)
    build_database(build_db, accounts=accounts)
    if published:
        release = publish_at(build_db, paths, 1, gates)
        assert assert_consistent(paths) == release.release_id
        return
    with pytest.raises(PublishRefusedError) as refused:
        publish_at(build_db, paths, 1, gates)
    lost = f"{(10 - accounts) / 10:.0%} fewer, more than the {gates.max_shrink:.0%} allowed"
    assert refused.value.problems == [
        f"marts.dim_account_health shrinks from 10 rows to {accounts} rows ({lost})",
        f"marts.fct_account_health_daily shrinks from 20 rows to {2 * accounts} rows ({lost})",
        f"marts.sync_crm_account_health shrinks from 10 rows to {accounts} rows ({lost})",
    ]
    assert snapshot(paths.root) == before
    assert assert_consistent(paths) == first.release_id


def test_a_served_table_that_disappears_counts_as_shrunk_to_nothing(tmp_path: Path) -> None:
    build_db = tmp_path / "build.duckdb"
    build_database(build_db)
    paths = ServingPaths(tmp_path / "serving")
    publish_at(build_db, paths, 0)
    with duckdb.connect(str(build_db)) as con:
        con.execute("drop table config.bands")
    with pytest.raises(PublishRefusedError) as refused:
        publish_at(build_db, paths, 1)
    assert refused.value.problems == [
        "config.bands shrinks from 1 rows to no table (100% fewer, more than the 20% allowed)"
    ]
    publish_at(build_db, paths, 2, ReleaseGates(allow_shrink=True))
    assert "config.bands" not in json.loads(paths.release_file.read_text())["tables"]


def test_the_as_of_date_may_not_move_backwards(tmp_path: Path) -> None:
    build_db = tmp_path / "build.duckdb"
    build_database(build_db)
    paths = ServingPaths(tmp_path / "serving")
    first = publish_at(build_db, paths, 0)
    before = snapshot(paths.root)
    build_database(build_db, as_of="2026-11-29")
    with pytest.raises(PublishRefusedError) as refused:
        publish_at(build_db, paths, 1)
    assert refused.value.problems == [
        "the as-of date moves backwards: 2026-11-29, the served release is as of 2026-11-30"
    ]
    assert snapshot(paths.root) == before
    assert assert_consistent(paths) == first.release_id
    earlier = publish_at(build_db, paths, 2, ReleaseGates(allow_earlier_as_of=True))
    assert earlier.as_of_date == "2026-11-29"
    # The first publish into a directory has nothing to compare with.
    publish_at(build_db, ServingPaths(tmp_path / "fresh"), 2)
    # The same as-of date again, or a later one, passes.
    publish_at(build_db, paths, 3)
    build_database(build_db, as_of="2026-12-01")
    assert publish_at(build_db, paths, 4).as_of_date == "2026-12-01"


def test_every_reason_is_given_at_once(tmp_path: Path) -> None:
    build_db = tmp_path / "build.duckdb"
    build_database(build_db)
    paths = ServingPaths(tmp_path / "serving")
    publish_at(build_db, paths, 0)
    build_database(
        build_db, accounts=5, as_of="2026-01-01", empty=("marts.rpt_portfolio_health_weekly",)
    )
    with pytest.raises(PublishRefusedError) as refused:
        publish_at(build_db, paths, 1)
    problems = refused.value.problems
    assert problems[0] == (
        "marts.rpt_portfolio_health_weekly is empty: it must never be served empty"
    )
    assert [problem.split(" ")[0] for problem in problems[1:-1]] == [
        "marts.dim_account_health",
        "marts.fct_account_health_daily",
        "marts.rpt_portfolio_health_weekly",
        "marts.sync_crm_account_health",
    ]
    assert problems[-1].startswith("the as-of date moves backwards: 2026-01-01")


# --- the command line -----------------------------------------------------------------------


@pytest.fixture
def fake_dbt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., int]:
    """Runs `customer-health publish` (into tmp_path/serving unless `serving` is given) with
    a stand-in for `dbt build` that writes a build database as `build_database(**build)`
    makes it, and passing run results."""
    monkeypatch.setenv("COLUMNS", "400")
    build_db = tmp_path / "build" / "customer_health.duckdb"
    shape: dict[str, Any] = {}

    def fake_build(
        dbt: Path, project_dir: Path, target_path: Path, env: dict[str, str], args: list[str]
    ) -> int:
        failing = shape.pop("fail", False)
        build_database(build_db, **shape)
        target_path.mkdir(parents=True, exist_ok=True)
        results = run_results(("test.x.y", "fail" if failing else "pass"))
        results["metadata"]["generated_at"] = datetime.now(UTC).isoformat()
        (target_path / "run_results.json").write_text(json.dumps(results))
        (target_path / "manifest.json").write_text(json.dumps(MANIFEST))
        return 0

    monkeypatch.setattr(publish_cli, "run_dbt_build", fake_build)

    def run(*options: str, serving: Path | None = None, **build: Any) -> int:
        shape.clear()
        shape.update(build)
        return publish_cli.main(
            [
                "--build-db",
                str(build_db),
                "--serving-dir",
                str(serving or tmp_path / "serving"),
                "--project-dir",
                str(tmp_path),
                "--target-path",
                str(tmp_path / "target"),
                *options,
            ]
        )

    return run


def test_the_cli_prints_every_gate_refusal_and_takes_the_overrides(
    fake_dbt: Callable[..., int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fake_dbt() == publish_cli.EXIT_PUBLISHED
    serving = tmp_path / "serving"
    before = snapshot(serving)
    capsys.readouterr()
    code = fake_dbt(accounts=6, as_of="2026-11-01", empty=("marts.dim_account_health",))
    assert code == publish_cli.EXIT_REFUSED
    err = capsys.readouterr().err
    assert "Not published" in err
    assert "marts.dim_account_health is empty" in err
    assert "marts.sync_crm_account_health shrinks from 10 rows to 6 rows" in err
    assert "the as-of date moves backwards: 2026-11-01" in err
    assert snapshot(serving) == before
    # 40% fewer rows: allowed with --max-shrink 50% (or 0.5), or once with --allow-shrink.
    assert fake_dbt("--max-shrink", "30%", accounts=6) == publish_cli.EXIT_REFUSED
    assert fake_dbt("--max-shrink", "50%", accounts=6) == publish_cli.EXIT_PUBLISHED
    assert fake_dbt("--max-shrink", "0.5", accounts=2) == publish_cli.EXIT_REFUSED
    assert fake_dbt("--allow-shrink", accounts=2) == publish_cli.EXIT_PUBLISHED
    assert fake_dbt(accounts=1) == publish_cli.EXIT_REFUSED  # the next publish is gated again
    assert fake_dbt(as_of="2026-11-01", accounts=2) == publish_cli.EXIT_REFUSED
    assert fake_dbt("--allow-earlier-as-of", as_of="2026-11-01", accounts=2) == 0
    assert assert_consistent(ServingPaths(serving))


@pytest.mark.parametrize("share", ["1.5", "-0.1", "120%", "many"])
def test_the_cli_rejects_a_share_outside_0_to_1(fake_dbt: Callable[..., int], share: str) -> None:
    with pytest.raises(SystemExit) as usage:
        fake_dbt("--max-shrink", share)
    assert usage.value.code == publish_cli.EXIT_USAGE


def test_the_cli_refuses_a_directory_that_is_not_ours_before_building(
    fake_dbt: Callable[..., int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    foreign = tmp_path / "exports"
    foreign.mkdir()
    (foreign / "customer_health.duckdb").write_text("someone else's file")
    before = snapshot(foreign)
    assert fake_dbt(serving=foreign) == publish_cli.EXIT_REFUSED
    err = capsys.readouterr().err
    assert f"{foreign} is not a serving directory of customer-health publish" in err
    assert snapshot(foreign) == before  # not even the lock file
    assert not (tmp_path / "build").exists()  # dbt build never ran


def test_the_cli_repairs_a_stopped_publish_before_the_build_even_when_the_build_fails(
    fake_dbt: Callable[..., int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert fake_dbt() == publish_cli.EXIT_PUBLISHED
    paths = ServingPaths(tmp_path / "serving")
    first = json.loads(paths.release_file.read_text())["release_id"]

    def interrupted(link: Path, target: str) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(publishing, "swap_symlink", interrupted)
        with pytest.raises(KeyboardInterrupt):
            fake_dbt()
    stopped = served_ids(paths)
    assert stopped[0] != first
    assert stopped[1:] == (first, first, first)
    capsys.readouterr()
    assert fake_dbt(fail=True) == publish_cli.EXIT_REFUSED
    err = capsys.readouterr().err
    assert f"finished the stopped switch to release {stopped[0]}" in err
    assert "test.x.y fail" in err
    assert assert_consistent(paths) == stopped[0]


# --- crash safety ---------------------------------------------------------------------------


class Killed(BaseException):
    """The process died at this step."""


class Death:
    """Stops a publish at its Nth filesystem step, as a kill would: with `hard`, every later
    step fails too (a dead process takes none, not even its clean-up handlers' steps);
    without, only that step raises KeyboardInterrupt and the handlers run."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at: int | None = None
        self.hard = True
        self.steps = 0
        self.dead = False
        for owner, name in [
            (os, "replace"),
            (os, "unlink"),
            (os, "rmdir"),
            (os, "mkdir"),
            (os, "symlink"),
            (os, "fsync"),
            (Path, "write_text"),
            (publishing, "write_database"),
            (publishing, "export_parquet"),
        ]:
            monkeypatch.setattr(owner, name, self.step(getattr(owner, name)))

    def step(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            if self.at is not None:
                if self.dead:
                    raise Killed
                self.steps += 1
                if self.steps == self.at:
                    self.dead = self.hard
                    raise Killed if self.hard else KeyboardInterrupt
            return original(*args, **kwargs)

        return run

    def arm(self, at: int | None, *, hard: bool = True) -> None:
        self.at, self.hard, self.steps, self.dead = at, hard, 0, False


@pytest.mark.parametrize("hard", [True, False], ids=["killed", "interrupted"])
def test_a_publish_stopped_at_any_step_leaves_a_state_the_next_publish_repairs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hard: bool
) -> None:
    build_db = tmp_path / "build.duckdb"
    build_database(build_db)
    template = ServingPaths(tmp_path / "template")
    # One served table: the steps of a publish are the same for any number of tables.
    config = ("config",)
    previous = [publish_at(build_db, template, m, schemas=config) for m in range(3)][-1]
    new = f"{STARTED + timedelta(minutes=3):%Y%m%dT%H%M%S%fZ}-01234567"
    death = Death(monkeypatch)
    for at in itertools.count(1):
        paths = ServingPaths(tmp_path / f"stopped-at-{at}")
        shutil.copytree(template.root, paths.root, symlinks=True)
        death.arm(at, hard=hard)
        try:
            publish_at(build_db, paths, 3, schemas=config)
        except (Killed, KeyboardInterrupt):
            death.arm(None)
        else:
            break
        # What the next publish does first: after it, the three name one release, the old
        # one or the new one, and nothing of the stopped publish is left but the release it
        # had committed to.
        prepare(paths)
        served = assert_consistent(paths)
        assert served in {previous.release_id, new}
        if served == new and not hard:
            # Past its commit point a publish runs no clean-up: an interruption is a kill.
            break
        if at % 5 == 0:
            # And the next publish serves its release, keeping the newest three.
            following = publish_at(build_db, paths, 4, schemas=config)
            assert assert_consistent(paths) == following.release_id
            assert len(release_names(paths)) == 3
    # Every step was stopped at once: a publish takes dozens of them.
    assert at > (25 if hard else 10)


def sigkill_publish(tmp_path: Path, paths: ServingPaths, build_db: Path, hook: str) -> None:
    """Run a publish in a child process that SIGKILLs itself where `hook` says."""
    script = textwrap.dedent(
        """
        import os, signal, sys
        from datetime import UTC, datetime
        from pathlib import Path
        import customer_health.serving.publish as publishing

        def die(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)

        HOOK

        publishing.publish(
            Path(sys.argv[1]), publishing.ServingPaths(Path(sys.argv[2])),
            {"metadata": {"invocation_id": "fedcba9876543210"}}, {},
            project_dir=Path(sys.argv[1]).parent,
            now=datetime(2026, 12, 1, 2, 4, tzinfo=UTC),
        )
        """
    ).replace("HOOK", textwrap.dedent(hook).strip())
    result = subprocess.run(
        [sys.executable, "-c", script, str(build_db), str(paths.root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr


HALF_WRITTEN = """
original = publishing.served_tables
calls = []
def half(*args, **kwargs):
    calls.append(1)
    if len(calls) == 2:  # inside write_database: the new file exists, nothing copied yet
        die()
    return original(*args, **kwargs)
publishing.served_tables = half
"""
EXPORTING = """
original = publishing.export_parquet
def half(database, tables, out_dir):
    original(database, list(tables)[:1], out_dir)
    die()
publishing.export_parquet = half
"""
BETWEEN_RENAMES = "publishing.swap_symlink = die"
PRUNING = """
import shutil
shutil.rmtree = die
"""


@pytest.mark.parametrize(
    ("hook", "committed"),
    [(HALF_WRITTEN, False), (EXPORTING, False), (BETWEEN_RENAMES, True), (PRUNING, True)],
    ids=["writing-the-database", "exporting-parquet", "between-renames", "pruning"],
)
def test_a_publish_killed_with_sigkill_is_repaired_by_the_next_publish(
    tmp_path: Path, hook: str, committed: bool
) -> None:
    build_db = tmp_path / "build.duckdb"
    build_database(build_db)
    paths = ServingPaths(tmp_path / "serving")
    served = [publish_at(build_db, paths, minute).release_id for minute in range(3)]
    sigkill_publish(tmp_path, paths, build_db, hook)
    killed = "20261201T020400000000Z-fedcba98"
    if hook is BETWEEN_RENAMES:
        # The old defect: the database names the new release, release.json and the link the
        # one before.
        ids = served_ids(paths)
        assert ids[0] == killed
        assert ids[1:3] == (served[-1], served[-1])
    leftovers = [p.name for p in paths.root.iterdir() if p.name.startswith(".customer_health")]
    if not committed:
        assert leftovers  # the temporary database (and its log) of the killed publish
    assert prepare(paths)
    assert assert_consistent(paths) == (killed if committed else served[-1])
    following = publish_at(build_db, paths, 5)
    assert assert_consistent(paths) == following.release_id
    expected = [*served, killed] if committed else served
    assert release_names(paths) == [*expected[-2:], following.release_id]


def test_a_publish_stopped_between_its_renames_is_finished_before_the_next_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_db = tmp_path / "build.duckdb"
    build_database(build_db)
    paths = ServingPaths(tmp_path / "serving")
    first = publish_at(build_db, paths, 0)

    def interrupted(link: Path, target: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(publishing, "swap_symlink", interrupted)
    with pytest.raises(KeyboardInterrupt):
        publish_at(build_db, paths, 1)
    monkeypatch.undo()
    stopped = served_ids(paths)
    assert stopped[0] != first.release_id
    assert stopped[1] == first.release_id
    assert prepare(paths) == [f"finished the stopped switch to release {stopped[0]}"]
    assert assert_consistent(paths) == stopped[0]
    assert prepare(paths) == []


def make_release(paths: ServingPaths, name: str, *, record: bool = True) -> Path:
    """A release folder as a publish leaves it: with its owner marker, Parquet files and
    (committed) its record."""
    folder = paths.releases / name
    (folder / "parquet" / "marts").mkdir(parents=True)
    (folder / publishing.RELEASE_OWNER_MARKER).write_text("")
    (folder / "parquet" / "marts" / "t.parquet").write_text("")
    if record:
        (folder / "parquet" / "_release.json").write_text(
            Release(name, "", "", None, AS_OF).to_json()
        )
    return folder


def test_leftovers_of_stopped_publishes_are_removed_and_nothing_else(tmp_path: Path) -> None:
    build_db = tmp_path / "build.duckdb"
    build_database(build_db)
    paths = ServingPaths(tmp_path / "serving")
    served = [publish_at(build_db, paths, minute).release_id for minute in range(3)]
    ours = [
        ".customer_health.duckdb.20261201T050000000000Z-01234567.tmp",
        ".customer_health.duckdb.20261201T050000000000Z-01234567.tmp.wal",
        ".release.json.4242.tmp",
        ".publish-pending.json.4242.tmp",
    ]
    for name in ours:
        (paths.root / name).write_text("left by a killed publish")
    (paths.root / ".parquet.4242.link").symlink_to(".releases")
    # Unfinished releases, newer than the served ones: an empty folder, one with its owner
    # marker only, one with Parquet files but no record (stopped before its commit).
    (paths.releases / "20261201T060000000000Z").mkdir()
    (paths.releases / "20261201T070000000000Z").mkdir()
    (paths.releases / "20261201T070000000000Z" / publishing.RELEASE_OWNER_MARKER).write_text("")
    make_release(paths, "20261201T080000000000Z-abc", record=False)
    # Not ours: other names, and a folder named like a release without our markers.
    foreign = {
        "notes.txt": "mine",
        ".customer_health.duckdb.backup": "mine",
        ".customer_health.duckdb.mine.tmp": "mine",
        ".release.json.old.tmp": "mine",
        ".releases/my-backup/_release.json": "mine",
        ".releases/20261201T090000000000Z/data.csv": "mine",
    }
    for name, text in foreign.items():
        (paths.root / name).parent.mkdir(parents=True, exist_ok=True)
        (paths.root / name).write_text(text)
    done = prepare(paths)
    assert len(done) == 1
    assert done[0].startswith("removed what stopped publishes left: ")
    for name in ours:
        assert not (paths.root / name).exists()
    assert not (paths.root / ".parquet.4242.link").is_symlink()
    for name, text in foreign.items():
        assert (paths.root / name).read_text() == text
    assert release_names(paths) == [*served, "20261201T090000000000Z", "my-backup"]
    # Unfinished releases never take one of the kept places.
    following = publish_at(build_db, paths, 3)
    assert release_names(paths) == [
        *served[1:],
        following.release_id,
        "20261201T090000000000Z",
        "my-backup",
    ]


# --- ownership ------------------------------------------------------------------------------


def test_prune_keeps_the_newest_releases_and_never_the_current_one(tmp_path: Path) -> None:
    paths = ServingPaths(tmp_path)
    names = [f"20261201T0{hour}0000000000Z" for hour in range(5)]
    for name in names:
        make_release(paths, name)
    assert prune_releases(paths, keep=2, current=names[-1]) == names[:3]
    assert sorted(p.name for p in paths.releases.iterdir()) == names[3:]
    # The current release survives even when it is older than the ones kept.
    assert prune_releases(paths, keep=1, current=names[3]) == []
    assert prune_releases(ServingPaths(tmp_path / "none"), keep=1, current="x") == []


def test_prune_deletes_only_release_folders_of_ours(tmp_path: Path) -> None:
    paths = ServingPaths(tmp_path)
    names = [f"20261201T0{hour}0000000000Z" for hour in range(4)]
    for name in names:
        make_release(paths, name)
    # Older than every release, but not ours: no release-id name, or no marker of ours, or a
    # record that names another release.
    (paths.releases / "backup" / "parquet").mkdir(parents=True)
    (paths.releases / "backup" / "parquet" / "_release.json").write_text(
        Release("backup", "", "", None, None).to_json()
    )
    (paths.releases / "20261130T000000000000Z").mkdir()
    (paths.releases / "20261130T000000000000Z" / "mine.txt").write_text("mine")
    other = make_release(paths, "20261129T000000000000Z", record=False)
    (other / "parquet" / "_release.json").write_text(
        Release(names[0], "", "", None, None).to_json()
    )
    (paths.releases / "20261128T000000000000Z").symlink_to(paths.releases / names[0])
    before = snapshot(paths.releases)
    assert prune_releases(paths, keep=3, current=names[-1]) == names[:1]
    after = snapshot(paths.releases)
    assert {name for name in before if name not in after} == {
        name for name in before if name.startswith(names[0])
    }
    assert (paths.releases / "20261128T000000000000Z").is_symlink()


def test_publish_refuses_a_directory_it_did_not_write(tmp_path: Path) -> None:
    build_db = tmp_path / "build.duckdb"
    build_database(build_db)
    foreign = tmp_path / "exports"
    foreign.mkdir()
    (foreign / "customer_health.duckdb").write_text("someone else's file")
    (foreign / "release.json").write_text('{"release_id": "v1"}')
    before = snapshot(foreign)
    with pytest.raises(PublishRefusedError) as refused:
        publish(build_db, ServingPaths(foreign), PASSED, MANIFEST, project_dir=tmp_path)
    assert refused.value.problems == [
        f"{foreign} is not a serving directory of customer-health publish (it has no "
        ".customer-health-serving and no release.json of a release) and is not empty "
        "(customer_health.duckdb, release.json): publish into an empty or new directory"
    ]
    assert snapshot(foreign) == before
    a_file = tmp_path / "a-file"
    a_file.write_text("mine")
    with pytest.raises(PublishRefusedError, match="is not a directory"):
        publish(build_db, ServingPaths(a_file), PASSED, MANIFEST, project_dir=tmp_path)
    assert a_file.read_text() == "mine"


def test_publish_takes_an_empty_directory_or_one_it_published_to(tmp_path: Path) -> None:
    build_db = tmp_path / "build.duckdb"
    build_database(build_db)
    paths = ServingPaths(tmp_path / "serving")
    paths.root.mkdir()
    paths.lock.write_text("")  # what the command line creates before its first publish
    publish_at(build_db, paths, 0)
    assert paths.marker.is_file()
    # A directory published to before the marker existed: its release.json proves it.
    paths.marker.unlink()
    publish_at(build_db, paths, 1)
    assert paths.marker.is_file()


def test_marts_outside_the_gated_ones_may_shrink(tmp_path: Path) -> None:
    build_db = tmp_path / "build.duckdb"
    build_database(build_db)
    paths = ServingPaths(tmp_path / "serving")
    publish_at(build_db, paths, 0)
    with duckdb.connect(str(build_db)) as con:
        con.execute("delete from config.bands")
    release = publish_at(build_db, paths, 1)
    assert release.tables["config.bands"] == 0
