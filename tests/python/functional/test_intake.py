"""Real exports in, nothing lost: a raw directory the generator did not write.

The world here is the user's own: no `_manifest.json`, typed Parquet columns (integers,
floats, dates, timestamps with a time zone, booleans), an optional column absent, three
optional tables absent, one table delivered as CSV, and a handful of rows that are not
exactly valid. `make run` builds and publishes it, every file stays byte-identical, and each
bad row is quarantined with its own reason instead of being coerced or moving the as-of date.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from harness import (
    PROJECT_DIR,
    DbtProject,
    HealthgenExtract,
    project_for,
    rewrite_typed,
    write_csv,
    write_rows,
)

pytestmark = pytest.mark.functional

ABSENT_TABLES = ("tickets", "stakeholder_events", "onboarding_milestones", "csm_activities")
CSV_TABLE = "features"

# Bad rows added to user_activity_daily (as a text file next to the typed ones), each with
# the reason it must be quarantined for.
BAD_ACTIVITY: list[tuple[dict[str, str], str]] = [
    (
        {"activity_date": "1900-01-01", "_loaded_at": "1900-01-02T00:00:00Z"},
        "too_early_activity_date",
    ),
    ({"activity_date": "2030-01-01", "_loaded_at": "2030-01-02T00:00:00Z"}, "future_loaded_at"),
    ({"sessions": "12.6"}, "unparseable_sessions"),
    ({"sessions": "1e3"}, "unparseable_sessions"),
    ({"sessions": "0x10"}, "unparseable_sessions"),
    ({"sessions": "1_0"}, "unparseable_sessions"),
    ({"active_minutes": "3000000000"}, "out_of_range_active_minutes"),
    ({"_loaded_at": "infinity"}, "unparseable_loaded_at"),
    ({"_loaded_at": "-infinity"}, "unparseable_loaded_at"),
    ({"_loaded_at": "epoch"}, "unparseable_loaded_at"),
    ({"_loaded_at": "294247-01-10T04:00:54Z"}, "unparseable_loaded_at"),
    ({"_loaded_at": "2024-03-01T10:00:00+99:00"}, "unparseable_loaded_at"),
]


@dataclass
class World:
    raw: Path
    project: DbtProject
    serving: Path
    hashes_before: dict[str, str]
    make_output: str
    make_returncode: int
    bad_users: list[str]
    orphaned_invoices: list[str]
    quarantined_contract: str
    huge_contract: str


def file_hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def build_world(source: Path, root: Path) -> tuple[Path, list[str], list[str], str]:
    raw = root / "raw"
    shutil.copytree(source, raw)
    (raw / "_manifest.json").unlink()
    shutil.rmtree(raw / "_defects", ignore_errors=True)
    for table in ABSENT_TABLES:
        shutil.rmtree(raw / table)

    # Typed columns; users without the optional `team` column.
    for part in sorted((raw / "user_activity_daily").glob("*.parquet")):
        rewrite_typed(
            part,
            "select user_id, account_id, cast(activity_date as date) as activity_date,"
            " cast(sessions as bigint) as sessions,"
            " cast(active_minutes as integer) as active_minutes,"
            " cast(key_events as double) as key_events,"
            " cast(_loaded_at as timestamptz) as _loaded_at from read_parquet('{file}')",
        )
    for part in sorted((raw / "users").glob("*.parquet")):
        rewrite_typed(
            part,
            "select user_id, account_id, user_role, cast(invited_at as timestamptz) as invited_at,"
            " cast(activated_at as timestamp) as activated_at,"
            " cast(deactivated_at as timestamptz) as deactivated_at,"
            " cast(_loaded_at as timestamptz) as _loaded_at from read_parquet('{file}')",
        )
    for part in sorted((raw / "contracts").glob("*.parquet")):
        rewrite_typed(
            part,
            "select contract_id, account_id, contract_type, cast(start_date as date) as start_date,"
            " cast(end_date as date) as end_date, cast(arr as double) as arr,"
            " cast(licensed_seats as bigint) as licensed_seats,"
            " cast(auto_renew as boolean) as auto_renew, status,"
            " cast(signed_at as timestamptz) as signed_at,"
            " cast(_loaded_at as timestamptz) as _loaded_at from read_parquet('{file}')",
        )

    # One table as CSV (text, with a header) instead of Parquet.
    write_csv(raw / CSV_TABLE)

    # Bad activity rows, as text, in a file of their own.
    template = pq.read_table(sorted((raw / "users").glob("*.parquet"))[0]).slice(0, 1)
    user = template.to_pylist()[0]
    rows = []
    for number, (changes, _reason) in enumerate(BAD_ACTIVITY):
        row = {
            "user_id": user["user_id"],
            "account_id": user["account_id"],
            "activity_date": f"2024-02-{number + 1:02d}",
            "sessions": "3",
            "active_minutes": "20",
            "key_events": "4",
            "_loaded_at": "2024-03-01T00:00:00Z",
        }
        row.update(changes)
        rows.append(row)
    write_rows(raw / "user_activity_daily" / "late-corrections.parquet", rows)

    # One contract quarantined (ends before it starts) that has invoices: its invoices are
    # orphans, quarantined with their own reason, and the build goes on.
    with duckdb.connect() as con:
        contract, invoices = con.execute(
            f"""
            select contract_id, list(invoice_id order by invoice_id)
            from read_parquet('{raw}/invoices/*.parquet')
            group by contract_id
            order by count(*), contract_id
            limit 1
            """
        ).fetchone() or (None, None)
        assert contract is not None
        # And 3,000,000,000 licensed seats on a contract without invoices: out of range,
        # never staged (a 32-bit seat count downstream would fail the whole build).
        (huge,) = con.execute(
            f"""
            select min(contract_id) from read_parquet('{raw}/contracts/*.parquet')
            where contract_id not in (
                select contract_id from read_parquet('{raw}/invoices/*.parquet')
            )
            """
        ).fetchone() or (None,)
        assert huge is not None
        for part in sorted((raw / "contracts").glob("*.parquet")):
            rewrite_typed(
                part,
                "select * replace ("
                f" case when contract_id = '{contract}' then start_date - 1 else end_date end"
                " as end_date,"
                f" case when contract_id = '{huge}' then 3000000000 else licensed_seats end"
                " as licensed_seats) from read_parquet('{file}')",
            )

    # An NPS answer of 6.5 is not an NPS score (never 7, never satisfied).
    survey = pq.read_table(sorted((raw / "survey_responses").glob("*.parquet"))[0])
    answer = survey.slice(0, 1).to_pylist()[0]
    answer.update(
        {"response_id": "rsp_half_point", "survey_type": "nps", "score": "6.5", "user_id": None}
    )
    write_rows(raw / "survey_responses" / "late-answers.parquet", [answer])
    return raw, [str(user["user_id"])], list(invoices), str(contract), str(huge)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, healthgen_extract: HealthgenExtract) -> World:
    root = tmp_path_factory.mktemp("own_data")
    raw, bad_users, invoices, contract, huge_contract = build_world(
        healthgen_extract(accounts=60, days=120, seed=5), root
    )
    hashes = file_hashes(raw)
    project = project_for(root, raw)
    serving = root / "serving"
    env = {
        **os.environ,
        "HEALTH_RAW_DIR": str(raw),
        "HEALTH_DB_PATH": str(project.db_path),
        "HEALTH_SERVING_DIR": str(serving),
        "HEALTH_TARGET_PATH": str(root / "target"),
    }
    done = subprocess.run(
        ["make", "--no-print-directory", "run"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    return World(
        raw=raw,
        project=project,
        serving=serving,
        hashes_before=hashes,
        make_output=done.stdout + done.stderr,
        make_returncode=done.returncode,
        bad_users=bad_users,
        orphaned_invoices=invoices,
        quarantined_contract=contract,
        huge_contract=huge_contract,
    )


def test_make_run_builds_and_publishes_the_users_files_and_leaves_them_untouched(
    world: World,
) -> None:
    assert world.make_returncode == 0, world.make_output[-4000:]
    assert file_hashes(world.raw) == world.hashes_before
    assert (world.serving / "customer_health.duckdb").is_file()
    with duckdb.connect(str(world.serving / "customer_health.duckdb"), read_only=True) as con:
        (accounts,) = con.execute("select count(*) from marts.dim_account_health").fetchone() or (
            0,
        )
        (payload,) = con.execute(
            "select count(*) from marts.sync_crm_account_health"
        ).fetchone() or (0,)
    assert accounts > 0
    assert payload > 0


def test_absent_optional_tables_are_not_available_and_printed_by_the_summary(world: World) -> None:
    rows = dict(
        world.project.query("select table_name, availability from marts.rpt_raw_table_quality")
    )
    assert {t for t, a in rows.items() if a == "not_available"} == set(ABSENT_TABLES)
    for table in ABSENT_TABLES:
        assert table in world.make_output
    assert "not available" in world.make_output


UNAVAILABLE_SIGNALS = {
    "open_ticket_count",
    "aged_open_ticket_count",
    "high_severity_open_ticket_count",
    "escalated_ticket_count",
    "avg_resolution_days",
    "avg_ticket_satisfaction_score",
    "sponsor_departure_count",
    "active_sponsor_count",
    "milestone_on_schedule_rate",
    "overdue_milestone_count",
    "days_to_first_value",
    # the users' files have no `team` column
    "active_team_count",
}


def test_signals_without_their_source_earn_nothing_and_the_summary_names_them(
    world: World,
) -> None:
    rows = world.project.query(
        "select signal_name, is_available, missing_requirements from marts.rpt_signal_availability"
    )
    unavailable = {name: missing for name, available, missing in rows if not available}
    assert set(unavailable) == UNAVAILABLE_SIGNALS
    assert unavailable["open_ticket_count"] == "support.tickets"
    assert unavailable["active_sponsor_count"] == "crm.stakeholder_events"
    assert unavailable["active_team_count"] == "product.users.team"
    # no day of any account has a value or points for them; lifecycle has no signal left
    conditions = " or ".join(
        f"{name} is not null or {name}_points is not null" for name in sorted(UNAVAILABLE_SIGNALS)
    )
    assert world.project.query(
        "select count(*) from intermediate.int_category_scores_daily"
        f" where {conditions} or lifecycle_score is not null"
    ) == [(0,)]
    # coverage counts only the categories the deployment has: every active day is scored
    assert world.project.query(
        "select count(*) from marts.fct_account_health_daily where computed_health_score is null"
    ) == [(0,)]
    # the summary's table caption wraps at the console's width
    printed = " ".join(world.make_output.split())
    assert "Data the score does not have" in printed
    assert "Left out of every score: Lifecycle" in printed


def test_typed_columns_and_csv_are_staged_like_text(
    world: World, healthgen_extract: HealthgenExtract
) -> None:
    source = healthgen_extract(accounts=60, days=120, seed=5)
    with duckdb.connect() as con:
        (features,) = con.execute(
            f"select count(*) from read_parquet('{source}/features/*.parquet')"
        ).fetchone() or (0,)
        (activity,) = con.execute(
            f"select count(*) from read_parquet('{source}/user_activity_daily/*.parquet')"
        ).fetchone() or (0,)
    staged = dict(
        world.project.query("select table_name, staged_rows from marts.rpt_raw_table_quality")
    )
    assert staged["features"] == features
    assert staged["user_activity_daily"] == activity
    # The typed timestamps and the absent optional column arrive as values and nulls.
    (teams, activated) = world.project.query(
        "select count(team), count(activated_at) from staging.base_product__users"
    )[0]
    assert teams == 0
    assert activated > 0


def test_each_bad_value_is_quarantined_with_its_reason(world: World) -> None:
    rows = world.project.query(
        "select sessions, active_minutes, activity_date, _loaded_at, rejection_reason"
        " from quarantine.quarantine_product__user_activity_daily where user_id = ?",
        world.bad_users,
    )
    reasons = sorted(reason for *_values, reason in rows)
    assert reasons == sorted(reason for _changes, reason in BAD_ACTIVITY)
    # Nothing of those rows was staged (no 13 sessions from 12.6, no 1000 from 1e3).
    staged = world.project.query(
        "select count(*) from staging.stg_product__user_activity_daily"
        " where user_id = ? and activity_date between '2024-02-01' and '2024-02-28'"
        " and loaded_at = '2024-03-01'",
        world.bad_users,
    )
    assert staged == [(0,)]


def test_fractional_scores_and_huge_counts_are_quarantined_not_coerced(world: World) -> None:
    assert world.project.query(
        "select rejection_reason, score from quarantine.quarantine_surveys__survey_responses"
        " where response_id = 'rsp_half_point'"
    ) == [("unparseable_score", "6.5")]
    assert world.project.query(
        "select rejection_reason, licensed_seats from quarantine.quarantine_crm__contracts"
        " where contract_id = ?",
        [world.huge_contract],
    ) == [("out_of_range_licensed_seats", "3000000000")]


def test_stray_rows_do_not_move_the_as_of_date_or_empty_the_marts(world: World) -> None:
    (as_of,) = world.project.query("select max(as_of_date) from intermediate.int_score_dates")[0]
    (last_typed_day,) = world.project.query(
        "select max(activity_date) from staging.stg_product__user_activity_daily"
    )[0]
    assert str(as_of) == str(last_typed_day) < "2030-01-01"
    assert str(as_of) >= "2024-04-01"
    for relation in (
        "marts.fct_account_health_daily",
        "marts.dim_account_health",
        "marts.sync_crm_account_health",
    ):
        assert world.project.query(f"select count(*) from {relation}")[0][0] > 0


def test_children_of_a_quarantined_contract_are_orphans_not_a_failed_build(world: World) -> None:
    (reason,) = world.project.query(
        "select rejection_reason from quarantine.quarantine_crm__contracts where contract_id = ?",
        [world.quarantined_contract],
    )[0]
    assert reason == "end_before_start"
    orphans = world.project.query(
        "select invoice_id, rejection_reason from quarantine.quarantine_billing__invoices"
        " where contract_id = ? order by invoice_id",
        [world.quarantined_contract],
    )
    assert orphans == [(invoice, "orphaned_contract_id") for invoice in world.orphaned_invoices]


def test_an_explicit_as_of_date_outside_the_data_is_an_error(world: World) -> None:
    result = world.project.invoke(
        "run", "--select", "int_score_dates", dbt_vars={"as_of_date": "2019-06-30"}
    )
    assert not result.success
    assert result.result is not None
    (message,) = [str(r.message) for r in result.result.results if r.node.name == "int_score_dates"]
    assert "var 'as_of_date' (2019-06-30) is outside the product data" in message


def test_an_as_of_date_before_the_first_scoring_day_fails_the_build(
    world: World, tmp_path: Path
) -> None:
    copy = project_for(tmp_path, world.raw)
    shutil.copy2(world.project.db_path, copy.db_path)
    (first_day,) = copy.query(
        "select min(activity_date) from staging.stg_product__user_activity_daily"
    )[0]
    result = copy.invoke(
        "build",
        "--select",
        "int_score_dates+",
        "--exclude",
        "path:models/marts/backtest",
        dbt_vars={"as_of_date": str(first_day)},
    )
    assert not result.success
    assert result.result is not None
    failed = {r.node.name for r in result.result.results if str(r.status) in ("fail", "error")}
    assert "assert_scoring_date_has_scored_accounts" in failed


@pytest.mark.parametrize(
    ("dbt_vars", "named"),
    [
        ({"as_of_date": "2024-03-01' || (select 1) || '"}, "as_of_date"),
        ({"scoring_start_date": "2024-02-30"}, "scoring_start_date"),
        ({"usage_window_days": "30) or (1=1"}, "usage_window_days"),
        ({"backtest_auc_floor": True}, "backtest_auc_floor"),
        ({"usage_trend_prior_user_days": "10) or (1=1"}, "usage_trend_prior_user_days"),
        ({"cohort_dimensions": ["segment", "industry"]}, "cohort_dimensions"),
        ({"cohort_dimensions": "segment"}, "cohort_dimensions"),
        ({"cohort_tenure_band_days": [365, 90]}, "cohort_tenure_band_days"),
        ({"cohort_tenure_band_days": [90.5]}, "cohort_tenure_band_days"),
        ({"cohort_min_accounts": 0}, "cohort_min_accounts"),
        ({"cohort_size_bands": 2.5}, "cohort_size_bands"),
    ],
)
def test_vars_are_values_not_sql(
    world: World, tmp_path: Path, dbt_vars: dict[str, object], named: str
) -> None:
    project = project_for(tmp_path, world.raw)
    result = project.invoke("run", "--select", "int_score_dates", dbt_vars=dbt_vars)
    assert not result.success
    assert f"var '{named}'" in str(result.exception)
    assert not project.db_path.exists() or project.query(
        "select count(*) from information_schema.tables where table_name = 'int_score_dates'"
    ) == [(0,)]


def test_preflight_lists_every_missing_required_table_and_column(
    world: World, tmp_path: Path
) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(world.raw, raw, ignore=shutil.ignore_patterns("users"))
    contracts = sorted((raw / "contracts").glob("*.parquet"))
    table = pq.read_table(contracts[0])
    pq.write_table(table.drop_columns(["licensed_seats"]), contracts[0])
    (raw / "accounts" / "notes.json").write_text("{}")
    project = project_for(tmp_path, raw)
    result = project.invoke("run")
    assert not result.success
    message = str(result.exception)
    assert "product.users: required table missing" in message
    assert f"crm.contracts: required column licensed_seats missing in {contracts[0]}" in message
    assert "crm.accounts: cannot read" in message
    assert "notes.json" in message
    # A selection is checked against the tables it reads, and only those.
    selected = project.invoke("run", "--select", "base_crm__accounts")
    assert not selected.success
    selected_message = str(selected.exception)
    assert "crm.accounts: cannot read" in selected_message
    assert "product.users" not in selected_message
    assert "crm.contracts" not in selected_message
    assert not project.db_path.exists() or project.query(
        "select count(*) from information_schema.tables where table_schema = 'staging'"
    ) == [(0,)]
