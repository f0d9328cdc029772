"""Incremental staging of the append-only tables (product activity and feature usage).

An incremental run re-stages only the keys that have rows in new files, and its staging
tables equal a full refresh of the same files: duplicates are ranked across files, and a
row whose account becomes known (or unknown) is re-judged. It reads only the new files and
the staged files that hold a row of a key it re-stages. A file staged before that
disappears stops the run with a clear error.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from harness import (
    DbtProject,
    deliver_next_day,
    extract_with_next_day,
    first_raw_row,
    project_for,
    table_rows,
    write_rows,
)

from customer_health.generator.generator import Config, generate

pytestmark = pytest.mark.functional

STAGING = ["+path:models/staging", "--indirect-selection", "cautious"]
STAGED_TABLES = [
    "staging.base_product__user_activity_daily",
    "staging.base_product__feature_usage_daily",
    "staging.base_crm__accounts",
    "quarantine.quarantine_product__user_activity_daily",
    "quarantine.quarantine_product__feature_usage_daily",
]
LATE_ACCOUNT = "acc_late_0001"
LATE_USER = "usr_late_0001"


def staged(project: DbtProject) -> dict[str, list[tuple[object, ...]]]:
    return {relation: table_rows(project, relation) for relation in STAGED_TABLES}


def full_refresh_of(project: DbtProject, tmp: Path) -> DbtProject:
    """The same raw files staged from scratch into another warehouse."""
    fresh = project_for(tmp, project.raw_dir)
    result = fresh.invoke("build", "--select", *STAGING)
    assert result.success, result.exception
    return fresh


def rejection(project: DbtProject, user_id: str, activity_date: str) -> list[object]:
    rows = project.query(
        "select rejection_reason from staging.base_product__user_activity_daily"
        " where user_id = ? and activity_date = cast(? as date) order by loaded_at desc",
        [user_id, activity_date],
    )
    return [reason for (reason,) in rows]


def split_by_month(folder: Path) -> None:
    """Each part file rewritten as one file per month of activity, as a daily loader's
    history looks (rows with an unreadable day go to a file of their own)."""
    for part in sorted(folder.glob("*.parquet")):
        table = pq.read_table(part)
        months = [str(value)[:7] if value else "" for value in table.column("activity_date")]
        for month in sorted(set(months)):
            rows = table.filter([m == month for m in months])
            pq.write_table(rows, folder / f"{part.stem}-{month or 'other'}.parquet")
        part.unlink()


def files_read(project: DbtProject) -> set[str]:
    """The raw files the last incremental run of the activity base model read: the file
    list that bounds its read of the raw rows."""
    (sql_file,) = (project.work_dir / "target" / "compiled").rglob(
        "base_product__user_activity_daily.sql"
    )
    listed = re.search(r"source_rows\._source_file in \(([^)]*)\)", sql_file.read_text())
    assert listed is not None
    return set(re.findall(r"'([^']+)'", listed.group(1)))


def files_holding_keys_of(project: DbtProject, new_files: list[Path]) -> set[str]:
    """The staged files that hold a row whose key has a raw row in `new_files`."""
    rows = project.query(
        "select distinct staged.source_file"
        " from staging.base_product__user_activity_daily as staged"
        " inner join read_parquet(?) as raw_rows"
        " on staged.user_id = trim(raw_rows.user_id)"
        " and staged.activity_date = try_cast(trim(raw_rows.activity_date) as date)",
        [[str(path) for path in new_files]],
    )
    return {name for (name,) in rows}


def activity_run_error(project: DbtProject) -> str:
    """The error of an incremental run of the activity base model (which must fail)."""
    failed = project.invoke("run", "--select", "base_product__user_activity_daily")
    assert not failed.success
    assert failed.result is not None
    (message,) = [
        str(result.message)
        for result in failed.result.results
        if result.node.name == "base_product__user_activity_daily"
    ]
    return message


def test_incremental_staging_equals_a_full_refresh(tmp_path: Path) -> None:
    cache, raw = extract_with_next_day(tmp_path, accounts=40, days=90, seed=5, dirty_rate=0.03)
    split_by_month(raw / "user_activity_daily")
    project = project_for(tmp_path / "incremental", raw)
    first = project.invoke("build", "--select", *STAGING)
    assert first.success, first.exception

    # Day 2: the generator's next day, plus a late file with a newer version of an
    # accepted row, a row of an account the CRM does not know yet, and a row without a key.
    deliver_next_day(cache, raw)
    old = first_raw_row(raw, "user_activity_daily")
    user_id, activity_date = old["user_id"], old["activity_date"]
    assert user_id is not None
    assert activity_date is not None
    assert rejection(project, user_id, activity_date) == [None]
    newer = {**old, "sessions": "99", "_loaded_at": "2024-04-05T00:00:00Z"}
    unknown = {**old, "user_id": LATE_USER, "account_id": LATE_ACCOUNT}
    keyless = {**old, "user_id": None}
    write_rows(raw / "user_activity_daily" / "part-late-00001.parquet", [newer, unknown, keyless])
    staged_files = {
        name
        for (name,) in project.query(
            "select distinct source_file from staging.base_product__user_activity_daily"
        )
    }
    new_files = [
        path
        for path in (raw / "user_activity_daily").glob("*.parquet")
        if path.name not in staged_files
    ]
    expected = {path.name for path in new_files} | files_holding_keys_of(project, new_files)
    # some staged files hold none of those keys, and are not read again
    assert expected & staged_files < staged_files
    second = project.invoke("build", "--select", *STAGING)
    assert second.success, second.exception
    # the new files, and the staged files holding a row of their keys (the superseded row's)
    assert files_read(project) == expected
    assert staged(project) == staged(full_refresh_of(project, tmp_path / "fresh2"))
    assert rejection(project, user_id, activity_date) == [None, "superseded_version"]
    assert rejection(project, LATE_USER, activity_date) == ["unknown_account_id"]

    # Day 3: the CRM and user snapshots now have the account and its user, so the row is
    # staged.
    account = {**first_raw_row(raw, "accounts"), "account_id": LATE_ACCOUNT}
    write_rows(raw / "accounts" / "part-late-00001.parquet", [account])
    user = {**first_raw_row(raw, "users"), "user_id": LATE_USER, "account_id": LATE_ACCOUNT}
    write_rows(raw / "users" / "part-late-00001.parquet", [user])
    third = project.invoke("build", "--select", *STAGING)
    assert third.success, third.exception
    # no new activity file: only the file of the row whose user became known is read
    assert files_read(project) == {"part-late-00001.parquet"}
    assert staged(project) == staged(full_refresh_of(project, tmp_path / "fresh3"))
    assert rejection(project, LATE_USER, activity_date) == [None]
    keyless_rows = project.query(
        "select count(*) from staging.base_product__user_activity_daily"
        " where rejection_reason = 'missing_user_id' and source_file = 'part-late-00001.parquet'"
    )
    assert keyless_rows == [(1,)]


def test_a_staged_file_that_disappears_stops_the_incremental_run(tmp_path: Path) -> None:
    cache = tmp_path / "extract"
    generate(Config(accounts=100, days=40, seed=6, out=cache / "raw", chunk_size=50))
    raw = tmp_path / "raw"
    shutil.copytree(cache / "raw", raw)
    parts = sorted((raw / "user_activity_daily").glob("*.parquet"))
    assert len(parts) == 2
    project = project_for(tmp_path / "incremental", raw)
    assert project.invoke("build", "--select", *STAGING).success

    parts[0].unlink()
    message = activity_run_error(project)
    assert parts[0].name in message
    assert "--full-refresh" in message

    rebuilt = project.invoke(
        "run", "--full-refresh", "--select", "base_product__user_activity_daily"
    )
    assert rebuilt.success, rebuilt.exception
    files = project.query(
        "select distinct source_file from staging.base_product__user_activity_daily"
    )
    assert files == [(parts[1].name,)]


def test_a_staged_file_rewritten_under_the_same_name_stops_the_incremental_run(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "extract"
    generate(Config(accounts=100, days=40, seed=6, out=cache / "raw", chunk_size=50))
    raw = tmp_path / "raw"
    shutil.copytree(cache / "raw", raw)
    parts = sorted((raw / "user_activity_daily").glob("*.parquet"))
    project = project_for(tmp_path / "incremental", raw)
    assert project.invoke("build", "--select", *STAGING).success
    staged_before = project.query("select count(*) from staging.base_product__user_activity_daily")[
        0
    ][0]

    # The same file name, fewer rows: a loader that rewrote history in place.
    table = pq.read_table(parts[0])
    pq.write_table(table.slice(0, table.num_rows - 383), parts[0])
    message = activity_run_error(project)
    assert f"{parts[0].name} (rewritten)" in message
    assert "--full-refresh" in message
    # Nothing was staged from the rewritten file, and a full refresh stages what it holds.
    assert (
        project.query("select count(*) from staging.base_product__user_activity_daily")[0][0]
        == staged_before
    )
    rebuilt = project.invoke(
        "build", "--full-refresh", "--select", "rpt_raw_table_quality", *STAGING
    )
    assert rebuilt.success, rebuilt.exception
    (raw_rows, staged_rows, quarantined_rows) = project.query(
        "select raw_rows, staged_rows, quarantined_rows from marts.rpt_raw_table_quality"
        " where table_name = 'user_activity_daily'"
    )[0]
    assert raw_rows == staged_before - 383 == staged_rows + quarantined_rows
