"""Staging on generated data: clean data stages whole, defects land in quarantine."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt.cli.main import dbtRunnerResult
from harness import (
    PRIMARY_KEYS,
    TABLE_SOURCES,
    DbtProject,
    HealthgenExtract,
    project_for,
    raw_row_counts,
    statuses,
    write_rows,
)
from rich.console import Console

from customer_health import summary as portfolio_summary

pytestmark = pytest.mark.functional

QUALITY_SQL = """
    select table_name, raw_rows, staged_rows, quarantined_rows
    from marts.rpt_raw_table_quality
"""


def test_clean_data_builds_with_every_test_passing(
    clean_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    _, result = clean_build
    failing = {name: s for name, s in statuses(result).items() if s not in ("pass", "success")}
    assert result.success, failing
    assert failing == {}


def test_clean_data_has_zero_quarantined_rows(
    clean_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    project, _ = clean_build
    quality = project.query(QUALITY_SQL)
    assert len(quality) == 14
    assert all(quarantined == 0 for _, _, _, quarantined in quality), quality
    assert all(staged > 0 for _, _, staged, _ in quality), quality


def test_staged_rows_match_raw_files(clean_build: tuple[DbtProject, dbtRunnerResult]) -> None:
    project, _ = clean_build
    in_files = raw_row_counts(project.raw_dir)
    staged = {table: staged for table, _, staged, _ in project.query(QUALITY_SQL)}
    assert staged == in_files


def test_as_of_date_defaults_to_last_activity_day_and_follows_the_var(
    clean_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    project, _ = clean_build
    with duckdb.connect() as con:
        last_day = con.execute(
            f"select max(cast(activity_date as date)) "
            f"from read_parquet('{project.raw_dir}/user_activity_daily/*.parquet')"
        ).fetchone()
    assert project.query("select distinct as_of_date from marts.rpt_raw_table_quality") == [
        (last_day[0] if last_day else None,)
    ]
    result = project.invoke(
        "run", "-s", "rpt_raw_table_quality", dbt_vars={"as_of_date": "2024-02-15"}
    )
    assert result.success
    assert project.query("select distinct as_of_date from marts.rpt_raw_table_quality") == [
        (date(2024, 2, 15),)
    ]
    assert project.invoke("run", "-s", "rpt_raw_table_quality").success


def test_dirty_data_builds_and_warns_on_quarantine_share(
    dirty_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    _, result = dirty_build
    by_name = statuses(result)
    errors = {name: s for name, s in by_name.items() if s in ("fail", "error")}
    assert result.success, errors
    # About 2% injected defects: above the 1% warning line, below the 5% error line.
    assert by_name["quarantined_share_below_warning_threshold"] == "warn"
    assert by_name["quarantined_share_below_error_threshold"] == "pass"
    assert by_name["raw_rows_reconcile_to_staged_plus_quarantined"] == "pass"


def test_dirty_counts_add_up_per_table(dirty_build: tuple[DbtProject, dbtRunnerResult]) -> None:
    project, _ = dirty_build
    in_files = raw_row_counts(project.raw_dir)
    quality = project.query(QUALITY_SQL)
    assert {table for table, *_ in quality} == set(in_files)
    for table, raw_rows, staged, quarantined in quality:
        assert raw_rows == in_files[table], table
        assert staged + quarantined == in_files[table], table


def injected_defects(raw_dir: Path) -> list[tuple[str, str, str | None, int]]:
    with duckdb.connect() as con:
        return con.execute(
            f"""
            select table_name, defect_kind, expected_reason, count(*)
            from read_parquet('{raw_dir}/_defects/defects.parquet')
            group by all
            """
        ).fetchall()


def test_every_injected_defect_lands_in_quarantine_with_its_reason(
    dirty_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    project, _ = dirty_build
    defects = injected_defects(project.raw_dir)
    expected: dict[tuple[str, str], int] = {}
    for table, _, reason, rows in defects:
        if reason is not None:
            expected[(table, reason)] = expected.get((table, reason), 0) + rows
    actual = {
        (table, reason): rows
        for table, reason, rows in project.query(
            "select table_name, rejection_reason, rejected_rows from marts.rpt_quarantine_reasons"
        )
    }
    assert actual == expected
    kinds = {kind for _, kind, _, _ in defects}
    assert kinds == {
        "exact_duplicate",
        "near_duplicate",
        "null_required",
        "unparseable",
        "negative",
        "future_timestamp",
        "unknown_account",
        "non_utc_offset",
        # a CSM activity's play that is not in the playbook (seed csm_plays)
        "unknown_play",
    }


# Raw key columns renamed by staging.
STAGED_NAMES = {"event_id": "stakeholder_event_id"}


def test_non_utc_offsets_are_staged_in_utc(dirty_build: tuple[DbtProject, dbtRunnerResult]) -> None:
    project, _ = dirty_build
    with duckdb.connect() as con:
        offsets = con.execute(
            f"""
            select table_name, column_name, row_key, original_value, injected_value
            from read_parquet('{project.raw_dir}/_defects/defects.parquet')
            where defect_kind = 'non_utc_offset'
            """
        ).fetchall()
    assert offsets
    checked = 0
    for table, column, row_key, original, injected in offsets:
        assert original.endswith("Z"), original
        assert not injected.endswith("Z"), injected
        name = column.lstrip("_")
        staged_keys = [STAGED_NAMES.get(key, key) for key in PRIMARY_KEYS[table]]
        key_text = ", ".join(f"cast({key} as varchar)" for key in staged_keys)
        staged = project.query(
            f"select {name} from staging.stg_{TABLE_SOURCES[table]}__{table} "
            f"where concat_ws('|', {key_text}) = ?",
            [row_key],
        )
        assert len(staged) == 1, (table, row_key)
        with duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            utc = con.execute(
                "select cast(cast(? as timestamptz) as timestamp)", [original]
            ).fetchone()
        assert staged[0][0] == (utc[0] if utc else None), (table, column, row_key)
        checked += 1
    assert checked > 0


# CSM activities added by hand to the heavily damaged extract, each with the reason staging
# must give it (None: staged). They start on 2024-02-02 and finish the next day unless said.
BAD_ACTIVITIES: list[tuple[dict[str, str | None], str | None]] = [
    ({}, None),
    ({"play_id": "renewal_rescue_v2"}, "unknown_play_id"),
    ({"play_id": " Healthy_QBR"}, "unknown_play_id"),
    ({"completed_at": "2024-02-01T09:00:00Z"}, "completed_before_started"),
    ({"completed_at": "2024-02-02T09:59:59Z"}, "completed_before_started"),
    ({"completed_at": "2024-02-02T10:00:00Z"}, None),
    ({"completed_at": None, "outcome": None}, None),
    ({"completed_at": "2024-02-05T09:00:00Z"}, "future_completed_at"),
    ({"outcome": "rescheduled"}, "invalid_outcome"),
    ({"play_id": None}, "missing_play_id"),
]


@pytest.fixture(scope="module")
def quarantine_heavy_build(
    tmp_path_factory: pytest.TempPathFactory, healthgen_extract: HealthgenExtract
) -> tuple[DbtProject, dbtRunnerResult]:
    """About 9% injected defects (40 accounts x 60 days) and BAD_ACTIVITIES, built once."""
    tmp = tmp_path_factory.mktemp("quarantine_heavy")
    raw = tmp / "raw"
    shutil.copytree(
        healthgen_extract(accounts=40, days=60, seed=3, dirty=True, dirty_rate=0.09), raw
    )
    with duckdb.connect() as con:
        # an account created well before the activities (its damaged copies aside)
        (account,) = con.execute(
            "select min(account_id) from ("
            f" select account_id from read_parquet('{raw}/accounts/*.parquet') group by 1"
            " having bool_and(try_cast(created_at as timestamptz) < '2023-12-01'))"
        ).fetchone() or (None,)
    assert account is not None
    rows = []
    for number, (changes, _) in enumerate(BAD_ACTIVITIES):
        row: dict[str, str | None] = {
            "activity_id": f"act_by_hand_{number:02d}",
            "account_id": account,
            "play_id": "healthy_qbr",
            "csm_owner": "Dana Kim",
            "started_at": "2024-02-02T10:00:00Z",
            "completed_at": "2024-02-03T10:00:00Z",
            "outcome": "completed",
            "outcome_note": None,
            "_loaded_at": "2024-02-03T23:59:59Z",
        }
        row.update(changes)
        rows.append(row)
    write_rows(raw / "csm_activities" / "by-hand.parquet", rows)
    project = project_for(tmp, raw)
    return project, project.invoke("build")


def test_quarantine_above_error_share_fails_the_build(
    quarantine_heavy_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    _, result = quarantine_heavy_build
    by_name = statuses(result)
    assert not result.success
    assert by_name["quarantined_share_below_error_threshold"] == "fail"


def test_csm_activities_outside_the_playbook_or_done_before_started_are_quarantined(
    quarantine_heavy_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    project, _ = quarantine_heavy_build
    reasons = dict(
        project.query(
            "select activity_id, rejection_reason from staging.base_crm__csm_activities"
            " where activity_id like 'act_by_hand_%'"
        )
    )
    assert reasons == {
        f"act_by_hand_{number:02d}": reason for number, (_, reason) in enumerate(BAD_ACTIVITIES)
    }
    staged = {
        activity_id
        for (activity_id,) in project.query(
            "select activity_id from staging.stg_crm__csm_activities"
            " where activity_id like 'act_by_hand_%'"
        )
    }
    assert staged == {f"act_by_hand_{n:02d}" for n, (_, r) in enumerate(BAD_ACTIVITIES) if not r}
    quarantined = dict(
        project.query(
            "select activity_id, rejection_reason from quarantine.quarantine_crm__csm_activities"
            " where activity_id like 'act_by_hand_%'"
        )
    )
    assert quarantined == {k: r for k, r in reasons.items() if r is not None}


def test_portfolio_summary_prints_quality_and_segments(
    clean_build: tuple[DbtProject, dbtRunnerResult],
) -> None:
    project, _ = clean_build
    console = Console(record=True, width=120)
    with duckdb.connect(str(project.db_path)) as con:
        assert portfolio_summary.render(con, console, "test") == 0
    text = console.export_text()
    assert "Raw data quality" in text
    assert "user_activity_daily" in text
    for segment in ("SMB", "Mid-Market", "Enterprise"):
        assert segment in text


def as_of_rule(counts: dict[date, int], share: float = 0.1) -> date | None:
    """The as-of rule read plainly: the latest activity day with at least `share` of the
    most active accounts on it and its 28 preceding activity days."""
    days = sorted(counts)
    qualifying = [
        day
        for i, day in enumerate(days)
        if counts[day] >= share * max(counts[d] for d in days[max(0, i - 28) : i + 1])
    ]
    return max(qualifying, default=None)


def test_the_as_of_search_reads_back_only_as_far_as_it_must(tmp_path: Path) -> None:
    """A run finds the as-of date by reading the newest activity first and reaching back
    only until a day qualifies; on activity shapes that defeat a short look, it gives the
    date the rule gives over the whole history."""
    start = date(2024, 1, 1)
    shapes: dict[str, dict[date, int]] = {
        # every day, steady: the last day qualifies, the first span finds it
        "steady": {start + timedelta(days=i): 40 for i in range(200)},
        # one activity day a week, a burst of 100 accounts every 28th: every quiet day has a
        # burst among its 28 preceding activity days, so the latest burst is the date, 27
        # weeks before the end; a short span would judge quiet days without their burst
        "weekly_bursts": {
            start + timedelta(days=7 * i): 100 if i % 28 == 0 else 5 for i in range(140)
        },
        # a day of one account two years after the data (as a stray row would): it never
        # qualifies, and the search reaches back across the gap
        "stray_day": {start + timedelta(days=i): 60 for i in range(120)}
        | {start + timedelta(days=850): 1},
        # fewer than 28 activity days: every day is judged over the whole history
        "short": {start + timedelta(days=i): 10 + i for i in range(20)},
        "empty": {},
    }
    project = project_for(tmp_path, tmp_path / "raw")
    with duckdb.connect(str(project.db_path)) as con:
        con.execute("create schema shapes")
        for name, counts in shapes.items():
            rows = [
                (f"acc_{n:04d}", day) for day, accounts in counts.items() for n in range(accounts)
            ]
            con.execute(f"create table shapes.{name} (account_id varchar, activity_date date)")
            if rows:
                con.executemany(f"insert into shapes.{name} values (?, ?)", rows)
    logged: list[dict[str, Any]] = []

    def collect(event: Any) -> None:
        if event.info.name == "JinjaLogInfo" and event.data.msg.startswith("as_of_date "):
            logged.append(json.loads(event.data.msg.removeprefix("as_of_date ")))

    spans = [1, 7, 91]
    result = project.invoke(
        "run-operation",
        "as_of_date_report",
        "--args",
        json.dumps({"relations": [f"shapes.{name}" for name in shapes], "spans": spans}),
        callbacks=[collect],
    )
    assert result.success, result.exception
    assert len(logged) == len(shapes) * len(spans)
    for item in logged:
        expected = as_of_rule(shapes[item["relation"].removeprefix("shapes.")])
        assert item["whole"] == item["searched"] == (expected and expected.isoformat()), item
    read = {(item["relation"], item["first_span_days"]): item["spans_read"] for item in logged}
    # the steady shape is found in the first span; the others reach back, growing 4 times
    assert read[("shapes.steady", 91)] == [91]
    assert read[("shapes.steady", 1)] == [1, 4, 16, 64]
    assert read[("shapes.weekly_bursts", 91)] == [91, 364, None]
    assert read[("shapes.stray_day", 91)] == [91, 364, None]
    assert read[("shapes.empty", 91)] == []
    assert as_of_rule(shapes["weekly_bursts"]) == start + timedelta(days=7 * 112)
    assert as_of_rule(shapes["stray_day"]) == start + timedelta(days=119)
