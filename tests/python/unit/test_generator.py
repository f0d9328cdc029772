"""The synthetic data generator: contract, determinism, prefix stability, defects, realism,
worlds and the latent truth."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from customer_health.generator.contract import TABLE_NAMES, TABLES, TABLES_BY_NAME, Table
from customer_health.generator.dirty import DAMAGING, KINDS
from customer_health.generator.generator import Config, generate
from customer_health.generator.plays import PLAY_IDS
from customer_health.generator.simulate import ChunkSimulation
from customer_health.generator.timeutil import DAY, NA
from customer_health.generator.worlds import WORLDS, World

REPO = Path(__file__).resolve().parents[3]
SOURCES = sorted((REPO / "models" / "staging").glob("*/_*__sources.yml"))
PLAYBOOK = REPO / "seeds" / "csm_plays.csv"
CLI = ["-m", "customer_health", "generate"]

TS_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
FORMAT_RE = {
    "timestamp": TS_RE,
    "date": DATE_RE,
    "int": r"^(0|[1-9]\d*)$",
    "decimal": r"^(0|[1-9]\d*)\.\d{2}$",
    "bool": r"^(true|false)$",
}
CAST_TYPES = {
    "timestamp": "timestamptz",
    "date": "date",
    "int": "bigint",
    "decimal": "decimal(18,2)",
    "bool": "boolean",
}
ID_RE = {
    "account_id": r"^acc_\d{6}$",
    "contract_id": r"^ctr_\d{9}$",
    "milestone_id": r"^mst_\d{8}$",
    "event_id": r"^stk_\d{10}$",
    "contact_id": r"^con_\d{9}$",
    "feature_id": r"^feat_\d{2}$",
    "user_id": r"^usr_\d{10}$",
    "ticket_id": r"^tkt_\d{11}$",
    "response_id": r"^srv_\d{10}$",
    "invoice_id": r"^inv_\d{10}$",
    "payment_id": r"^pay_\d{11}$",
    "outcome_id": r"^out_\d{9}$",
    "activity_id": r"^act_\d{10}$",
}
FOREIGN_KEYS = [
    ("contracts", "account_id", "accounts", "account_id"),
    ("onboarding_milestones", "account_id", "accounts", "account_id"),
    ("stakeholder_events", "account_id", "accounts", "account_id"),
    ("csm_activities", "account_id", "accounts", "account_id"),
    ("users", "account_id", "accounts", "account_id"),
    ("user_activity_daily", "account_id", "accounts", "account_id"),
    ("user_activity_daily", "user_id", "users", "user_id"),
    ("feature_usage_daily", "account_id", "accounts", "account_id"),
    ("feature_usage_daily", "feature_id", "features", "feature_id"),
    ("tickets", "account_id", "accounts", "account_id"),
    ("survey_responses", "account_id", "accounts", "account_id"),
    ("survey_responses", "user_id", "users", "user_id"),
    ("invoices", "account_id", "accounts", "account_id"),
    ("invoices", "contract_id", "contracts", "contract_id"),
    ("payments", "account_id", "accounts", "account_id"),
    ("payments", "invoice_id", "invoices", "invoice_id"),
    ("account_outcomes", "account_id", "accounts", "account_id"),
]
# The date or timestamp each child row is dated by (never before its account's creation).
CHILD_DATES = {
    "contracts": "signed_at",
    "onboarding_milestones": "planned_date",
    "stakeholder_events": "occurred_at",
    "csm_activities": "started_at",
    "users": "invited_at",
    "user_activity_daily": "activity_date",
    "feature_usage_daily": "usage_date",
    "tickets": "opened_at",
    "survey_responses": "responded_at",
    "invoices": "issued_at",
    "payments": "attempted_at",
    "account_outcomes": "outcome_date",
}


def connect(raw: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for table in TABLE_NAMES:
        con.execute(f"create view {table} as select * from read_parquet('{raw}/{table}/*.parquet')")
    return con


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


def sorted_rows(raw: Path, table: str) -> pa.Table:
    data = pq.read_table(raw / table)
    return data.sort_by([(c, "ascending") for c in data.column_names])


def manifest(raw: Path) -> dict[str, object]:
    return json.loads((raw / "_manifest.json").read_text())


def ts(column: str) -> str:
    return f"strptime({column}, '%Y-%m-%dT%H:%M:%SZ')"


# ---------------------------------------------------------------------------- contract


def test_tables_and_columns_match_the_sources_yaml() -> None:
    assert len(SOURCES) == 6
    declared: dict[str, tuple[str, list[dict[str, str]]]] = {}
    for path in SOURCES:
        for source in yaml.safe_load(path.read_text())["sources"]:
            for table in source["tables"]:
                declared[table["name"]] = (source["name"], table["columns"])
    assert set(declared) == set(TABLE_NAMES)
    for spec in TABLES:
        source, columns = declared[spec.name]
        assert spec.source == source
        assert spec.column_names == [c["name"] for c in columns], spec.name
        required = {c["name"] for c in columns if "Required" in c.get("description", "")}
        assert {c.name for c in spec.columns if c.required} == required, spec.name


def test_written_files_have_the_contract_columns_all_as_text(healthgen_extract) -> None:
    raw = healthgen_extract()
    for table in TABLE_NAMES:
        parts = sorted((raw / table).glob("part-*.parquet"))
        assert parts, table
        for part in parts:
            schema = pq.read_schema(part)
            assert schema.names == TABLES_BY_NAME[table].column_names, part
            assert all(f.type == pa.string() for f in schema), part
    # 120 accounts in chunks of 50: three parts per account-level table.
    assert len(list((raw / "users").glob("part-*.parquet"))) == 3


def _table_rules(spec: Table, end: str) -> list[tuple[str, str]]:
    """Per-table rules: unique keys, required values, formats, enums, ``_loaded_at``."""
    t = spec.name
    key = ", ".join(spec.key)
    rules = [(f"{t} duplicate key", f"select {key} from {t} group by all having count(*) > 1")]
    for col in spec.columns:
        c = col.name
        rules.append((f"{t}.{c} blank", f"select 1 from {t} where {c} = '' or trim({c}) != {c}"))
        if col.required:
            rules.append((f"{t}.{c} null", f"select 1 from {t} where {c} is null"))
        pattern = FORMAT_RE.get(col.kind) or ID_RE.get(c)
        if pattern:
            rules.append(
                (
                    f"{t}.{c} format",
                    f"select 1 from {t} where not regexp_full_match({c}, '{pattern}')",
                )
            )
        if col.kind in ("timestamp", "date"):
            target = "timestamptz" if col.kind == "timestamp" else "date"
            bad = f"select 1 from {t} where try_cast({c} as {target}) is null and {c} is not null"
            rules.append((f"{t}.{c} cast", bad))
        if col.kind == "enum":
            allowed = ", ".join(f"'{v}'" for v in spec.enums[c])
            rules.append((f"{t}.{c} enum", f"select 1 from {t} where {c} not in ({allowed})"))
        if col.event:
            value = ts(c) if col.kind == "timestamp" else f"cast({c} as timestamp)"
            rules.append((f"{t}.{c} after _loaded_at",
                          f"select 1 from {t} where {value} > {ts('_loaded_at')}"))  # fmt: skip
    rules.append((f"{t}._loaded_at after extract", f"select 1 from {t} where _loaded_at > {end}"))
    rules.append(
        (f"{t}._loaded_at time", f"select 1 from {t} where _loaded_at not like '%T23:59:59Z'")
    )
    # _loaded_at is the end of the day of the latest event the row shows (milestones without a
    # completion are dated by their plan, made when the account was created).
    events = [
        ts(col.name) if col.kind == "timestamp" else f"cast({col.name} as timestamp)"
        for col in spec.columns
        if col.event
    ]
    if t != "onboarding_milestones":
        latest = f"greatest({', '.join(events)})" if len(events) > 1 else events[0]
        day = f"strftime({latest}, '%Y-%m-%d')"
        rules.append(
            (f"{t}._loaded_at day", f"select 1 from {t} where left(_loaded_at, 10) != {day}")
        )
    return rules


def _cross_rules(last: dt.date, end: str) -> list[tuple[str, str]]:
    """Rules across columns and tables."""
    rules = []
    for child, col, parent, pcol in FOREIGN_KEYS:
        rules.append((f"{child}.{col} orphan", f"""
            select 1 from {child} c where {col} is not null
            and not exists (select 1 from {parent} p where p.{pcol} = c.{col})"""))  # fmt: skip
    for child, col in CHILD_DATES.items():
        kind = TABLES_BY_NAME[child].column(col).kind
        value = ts(f"c.{col}") if kind == "timestamp" else f"cast(c.{col} as date)"
        created = ts("a.created_at")
        created = created if kind == "timestamp" else f"cast({created} as date)"
        rules.append((f"{child}.{col} before account creation", f"""
            select 1 from {child} c join accounts a using (account_id)
            where {value} < {created}"""))  # fmt: skip
    close = f"{ts(end)} - interval 4 day"
    rules += [
        ("ticket resolved before opened", f"""
            select 1 from tickets where {ts('resolved_at')} < {ts('opened_at')}"""),
        ("ticket rating without score", """
            select 1 from tickets
            where (satisfaction_score is null) != (satisfaction_rated_at is null)"""),
        ("ticket rated before resolution", f"""
            select 1 from tickets where {ts('satisfaction_rated_at')} < {ts('resolved_at')}"""),
        ("ticket score range", """
            select 1 from tickets where cast(satisfaction_score as int) not between 1 and 5"""),
        ("ticket status", f"""
            select 1 from tickets where status != case
                when resolved_at is null then status
                when {ts('resolved_at')} < {close} then 'closed' else 'solved' end
            or (resolved_at is null and status not in ('open', 'pending'))"""),
        ("contract end before start", """
            select 1 from contracts where cast(end_date as date) < cast(start_date as date)"""),
        ("contract status", f"""
            select 1 from contracts where (end_date > '{last}') != (status = 'active')"""),
        ("invoice due before issue", f"""
            select 1 from invoices
            where cast(due_date as date) < cast({ts('issued_at')} as date)"""),
        ("invoice paid state", """
            select 1 from invoices where (status = 'paid') != (paid_at is not null)"""),
        ("payment account", """
            select 1 from payments p join invoices i using (invoice_id)
            where p.account_id != i.account_id"""),
        ("invoice contract account", """
            select 1 from invoices i join contracts c using (contract_id)
            where i.account_id != c.account_id"""),
        ("nps range", """
            select 1 from survey_responses
            where survey_type = 'nps' and cast(score as int) not between 0 and 10"""),
        ("csat range", """
            select 1 from survey_responses
            where survey_type = 'csat' and cast(score as int) not between 1 and 5"""),
        ("activity user account", """
            select 1 from user_activity_daily a join users u using (user_id)
            where a.account_id != u.account_id"""),
        ("activity outside the user's seat", f"""
            select 1 from user_activity_daily a join users u using (user_id)
            where cast(a.activity_date as date) < cast({ts('u.invited_at')} as date)
               or u.activated_at is null
               or cast(a.activity_date as date) < cast({ts('u.activated_at')} as date)
               or cast(a.activity_date as date) > cast({ts('u.deactivated_at')} as date)"""),
        ("survey user account", """
            select 1 from survey_responses s join users u using (user_id)
            where s.account_id != u.account_id"""),
        ("survey user not yet invited", f"""
            select 1 from survey_responses s join users u using (user_id)
            where {ts('u.invited_at')} > {ts('s.responded_at')}"""),
        ("user activated before invited", f"""
            select 1 from users where {ts('activated_at')} < {ts('invited_at')}"""),
        ("user deactivated before activated", f"""
            select 1 from users where {ts('deactivated_at')} < {ts('activated_at')}"""),
        ("churn leaves arr", """
            select 1 from account_outcomes
            where outcome_type = 'churned' and arr_after != '0.00'"""),
        ("renewed term without outcome", """
            select 1 from contracts c where c.status = 'renewed' and c.contract_type != 'add_on'
            and not exists (select 1 from account_outcomes o where o.account_id = c.account_id
                            and o.outcome_date = c.end_date and o.outcome_type != 'churned')"""),
        ("churned term without outcome", """
            select 1 from contracts c where c.status = 'churned' and c.contract_type != 'add_on'
            and not exists (select 1 from account_outcomes o where o.account_id = c.account_id
                            and o.outcome_date = c.end_date and o.outcome_type = 'churned')"""),
        ("activity after churn", """
            select 1 from user_activity_daily a join account_outcomes o using (account_id)
            where o.outcome_type = 'churned' and a.activity_date > o.outcome_date"""),
        ("play not in the playbook", f"""
            select 1 from csm_activities
            where play_id not in ({", ".join(f"'{p}'" for p in PLAY_IDS)})"""),
        ("play completed before started", f"""
            select 1 from csm_activities where {ts('completed_at')} < {ts('started_at')}"""),
        ("play outcome without completion", """
            select 1 from csm_activities where (outcome is null) != (completed_at is null)"""),
        ("play note without outcome", """
            select 1 from csm_activities where outcome_note is not null and outcome is null"""),
        ("play after churn", f"""
            select 1 from csm_activities p join account_outcomes o using (account_id)
            where o.outcome_type = 'churned'
            and greatest({ts('p.started_at')},
                         coalesce({ts('p.completed_at')}, {ts('p.started_at')}))
                > cast(o.outcome_date as date) + interval 1 day"""),
    ]  # fmt: skip
    return rules


def contract_rule_problems(con: Any, last: dt.date, end: str) -> list[str]:
    """Each contract rule the extract behind ``con`` breaks, with its count of rows."""
    rules = [r for spec in TABLES for r in _table_rules(spec, end)] + _cross_rules(last, end)
    problems = []
    for label, sql in rules:
        count = scalar(con, f"select count(*) from ({sql})")
        if count:
            problems.append(f"{label}: {count}")
    return problems


def test_clean_extract_satisfies_every_contract_rule(healthgen_extract) -> None:
    raw = healthgen_extract()
    con = connect(raw)
    last = dt.date(2024, 1, 1) + dt.timedelta(days=149)
    end = f"'{last}T23:59:59Z'"
    for table in TABLE_NAMES:
        assert scalar(con, f"select count(*) from {table}"), table
    assert not contract_rule_problems(con, last, end)
    assert not (raw / "_defects" / "defects.parquet").exists()
    assert manifest(raw)["defect_rows"] == 0


# ---------------------------------------------------------------------------- determinism


def test_same_arguments_give_identical_tables(healthgen_extract, tmp_path: Path) -> None:
    first = healthgen_extract()
    again = tmp_path / "again"
    generate(Config(accounts=120, days=150, seed=11, out=again, chunk_size=50))
    for table in TABLE_NAMES:
        assert pq.read_table(first / table).equals(pq.read_table(again / table)), table
    other = tmp_path / "other_seed"
    generate(Config(accounts=120, days=150, seed=12, out=other, chunk_size=50))
    assert not pq.read_table(first / "users").equals(pq.read_table(other / "users"))


def test_chunk_size_only_changes_the_file_layout(healthgen_extract) -> None:
    small = healthgen_extract(chunk_size=50)
    large = healthgen_extract(chunk_size=150)
    for table in TABLE_NAMES:
        assert sorted_rows(small, table).equals(sorted_rows(large, table)), table


def test_rerun_removes_stale_parts(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    generate(Config(accounts=100, days=20, seed=1, out=out, chunk_size=50))
    assert len(list((out / "tickets").glob("*.parquet"))) == 2
    generate(Config(accounts=40, days=20, seed=1, out=out, chunk_size=50))
    assert len(list((out / "tickets").glob("*.parquet"))) == 1
    assert pq.read_table(out / "accounts").num_rows <= 40


# ---------------------------------------------------------------------------- prefix stability

SHORT_DAYS = 100
LONG_DAYS = 170


def _as_of_queries(cut_day: dt.date) -> dict[str, str]:
    """The long extract viewed at the end of ``cut_day``, re-derived from its text."""
    end = f"'{cut_day}T23:59:59Z'"
    day = f"'{cut_day}'"
    close = f"strftime({ts(end)} - interval 4 day, '%Y-%m-%dT%H:%M:%SZ')"

    def vis(col: str) -> str:
        return f"case when {col} <= {end} then {col} end"

    def opt(col: str) -> str:
        return f"coalesce({vis(col)}, '')"

    def eod(*cols: str) -> str:
        return f"left(greatest({', '.join(cols)}), 10) || 'T23:59:59Z'"

    user_loaded = eod("invited_at", opt("activated_at"), opt("deactivated_at"))
    ticket_loaded = eod(
        "opened_at", opt("escalated_at"), opt("resolved_at"), opt("satisfaction_rated_at")
    )
    return {
        "accounts": f"select * from accounts where created_at <= {end}",
        "contracts": f"""
            select * replace (case when end_date > {day} then 'active' else status end as status)
            from contracts where signed_at <= {end}""",
        "onboarding_milestones": f"""
            select m.milestone_id, m.account_id, m.milestone_name, m.planned_date,
                   {vis("m.completed_at")} as completed_at,
                   {eod("a.created_at", opt("m.completed_at"))} as _loaded_at
            from onboarding_milestones m join accounts a using (account_id)
            where a.created_at <= {end}""",
        "stakeholder_events": f"select * from stakeholder_events where occurred_at <= {end}",
        "csm_activities": f"""select * replace (
                                  {vis("completed_at")} as completed_at,
                                  case when completed_at <= {end} then outcome end as outcome,
                                  case when completed_at <= {end} then outcome_note end
                                      as outcome_note,
                                  {eod("started_at", opt("completed_at"))} as _loaded_at)
                              from csm_activities where started_at <= {end}""",
        "features": f"select * from features where released_at <= {end}",
        "users": f"""select * replace ({vis("activated_at")} as activated_at,
                                       {vis("deactivated_at")} as deactivated_at,
                                       {user_loaded} as _loaded_at)
                     from users where invited_at <= {end}""",
        "user_activity_daily": f"select * from user_activity_daily where activity_date <= {day}",
        "feature_usage_daily": f"select * from feature_usage_daily where usage_date <= {day}",
        "tickets": f"""select * replace (
                           {vis("escalated_at")} as escalated_at,
                           {vis("resolved_at")} as resolved_at,
                           case when satisfaction_rated_at <= {end} then satisfaction_score end
                               as satisfaction_score,
                           {vis("satisfaction_rated_at")} as satisfaction_rated_at,
                           case when resolved_at > {end} then 'unresolved'
                                when resolved_at < {close} then 'closed'
                                when resolved_at is not null then 'solved'
                                else 'unresolved' end as status,
                           {ticket_loaded} as _loaded_at)
                       from tickets where opened_at <= {end}""",
        "survey_responses": f"select * from survey_responses where responded_at <= {end}",
        "invoices": f"""select * replace (
                            {vis("paid_at")} as paid_at,
                            case when status = 'void' then 'void'
                                 when paid_at <= {end} then 'paid' else 'open' end as status,
                            {eod("issued_at", opt("paid_at"))} as _loaded_at)
                        from invoices where issued_at <= {end}""",
        "payments": f"select * from payments where attempted_at <= {end}",
        "account_outcomes": f"select * from account_outcomes where outcome_date <= {day}",
    }


def test_longer_run_viewed_at_the_shorter_cutoff_reproduces_it(healthgen_extract) -> None:
    short = healthgen_extract(days=SHORT_DAYS)
    long = healthgen_extract(days=LONG_DAYS)
    cut = dt.date(2024, 1, 1) + dt.timedelta(days=SHORT_DAYS - 1)
    con = connect(long)
    for table in TABLE_NAMES:
        con.execute(
            f"create view short_{table} as select * from read_parquet('{short}/{table}/*.parquet')"
        )
    unresolved = "case when status in ('open', 'pending') then 'unresolved' else status end"
    for table, query in _as_of_queries(cut).items():
        mine = f"select * from short_{table}"
        if table == "tickets":
            mine = f"select * replace ({unresolved} as status) from short_{table}"
        n_short = scalar(con, f"select count(*) from ({mine})")
        n_long = scalar(con, f"select count(*) from {table}")
        assert n_short, table
        missing = scalar(con, f"select count(*) from (({mine}) except all ({query}))")
        extra = scalar(con, f"select count(*) from (({query}) except all ({mine}))")
        assert (missing, extra) == (0, 0), table
        if table in ("user_activity_daily", "tickets", "users", "payments", "csm_activities"):
            assert n_long > n_short, table
    # Something actually changed state between the two cutoffs.
    changed = scalar(
        con,
        """select count(*) from short_tickets s join tickets l using (ticket_id)
            where s.resolved_at is null and l.resolved_at is not null""",
    )
    assert changed
    # Plays open at the shorter cutoff are finished in the longer run, with their outcome.
    finished = scalar(
        con,
        """select count(*) from short_csm_activities s join csm_activities l using (activity_id)
            where s.completed_at is null and l.completed_at is not null
              and s.outcome is null and l.outcome is not null""",
    )
    assert finished


def test_generator_as_of_matches_a_shorter_run_exactly(healthgen_extract, tmp_path: Path) -> None:
    # The generator's own masking of a longer simulation gives the shorter run byte for byte.
    from customer_health.generator.extract import Cutoff, Renderer, as_of
    from customer_health.generator.simulate import ChunkSimulation

    short = healthgen_extract(days=SHORT_DAYS)
    sim = ChunkSimulation(11, dt.date(2024, 1, 1), 0, 50)
    for t in range(LONG_DAYS):
        sim.step(t)
    render = Renderer(dt.date(2024, 1, 1), 0)
    cut = Cutoff(SHORT_DAYS - 1)
    accounts = sim.account_records()
    for table, records in (("tickets", sim.tickets), ("csm_activities", sim.plays)):
        mine = as_of(table, records.take(), cut, accounts)
        got = render.render(table, mine).table
        expected = pq.read_table(short / table / "part-00000.parquet")
        assert got.num_rows > 0, table
        assert got.equals(expected), table


@pytest.mark.parametrize("dirty", [False, True])
def test_next_day_delivery_appended_to_the_extract_is_the_longer_run(
    healthgen_extract, tmp_path: Path, dirty: bool
) -> None:
    # The extract plus the next day's delivery (streamed tables: new files; others: new
    # snapshots) equals the extract one day longer, and the extract itself is unchanged.
    from customer_health.generator.generator import STREAMED, next_day_part_name

    days = 150
    base, nxt = tmp_path / "base", tmp_path / "next"
    generate(
        Config(
            accounts=120, days=days, seed=11, out=base, chunk_size=50, dirty=dirty, next_day_out=nxt
        )
    )
    plain = healthgen_extract(days=days, dirty=dirty)
    longer = healthgen_extract(days=days + 1, dirty=dirty)
    new_day = dt.date(2024, 1, 1) + dt.timedelta(days=days)
    assert manifest(nxt)["delivery_date"] == new_day.isoformat()
    for table in TABLE_NAMES:
        assert sorted_rows(base, table).equals(sorted_rows(plain, table)), table
        if table in STREAMED:
            names = sorted(p.name for p in (nxt / table).glob("*.parquet"))
            assert names == [
                next_day_part_name(new_day, 0),
                next_day_part_name(new_day, 1),
                next_day_part_name(new_day, 2),
            ], table
            assert all(n > "part-00002.parquet" for n in names)
            added = pq.read_table(nxt / table)
            date_column = CHILD_DATES[table]
            assert set(added.column(date_column).to_pylist()) <= {new_day.isoformat(), None}
            combined = pa.concat_tables([pq.read_table(base / table), added])
        else:
            combined = pq.read_table(nxt / table)
        combined = combined.sort_by([(c, "ascending") for c in combined.column_names])
        assert combined.equals(sorted_rows(longer, table)), table


def test_next_day_needs_room_and_its_own_folder(tmp_path: Path) -> None:
    from customer_health.generator.generator import MAX_DAYS, validate

    with pytest.raises(ValueError, match="next-day-out"):
        validate(
            Config(accounts=1, days=MAX_DAYS, seed=1, out=tmp_path, next_day_out=tmp_path / "n")
        )
    with pytest.raises(ValueError, match="must differ"):
        validate(Config(accounts=1, days=5, seed=1, out=tmp_path, next_day_out=tmp_path))


# ---------------------------------------------------------------------------- manifest and CLI


def test_manifest_describes_the_run(healthgen_extract) -> None:
    raw = healthgen_extract()
    m = manifest(raw)
    # What marks the directory as the generator's (see test_raw_dir_ownership.py).
    assert m["generator"] == "healthgen"
    assert m["complete"] is True
    assert m["seed"] == 11
    assert m["accounts"] == 120
    assert m["days"] == 150
    assert m["start_date"] == "2024-01-01"
    assert m["last_date"] == "2024-05-29"
    assert m["dirty"] is False
    assert m["generator_version"]
    for table in TABLE_NAMES:
        assert m["row_counts"][table] == pq.read_table(raw / table).num_rows, table


def test_cli_help_and_bad_arguments(tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, *CLI, "--help"], capture_output=True, text=True)
    assert ok.returncode == 0
    assert "--dirty-rate" in ok.stdout
    bad = [
        ["--accounts", "0"],
        ["--days", "-3"],
        ["--chunk-size", "70"],
        ["--dirty-rate", "1.5"],
        ["--start-date", "2024-02-30"],
    ]
    for args in bad:
        base = {"--accounts": "10", "--days": "5", "--seed": "1", "--out": str(tmp_path / "x")}
        base.update(dict(zip(args[::2], args[1::2], strict=True)))
        argv = [x for pair in base.items() for x in pair]
        run = subprocess.run([sys.executable, *CLI, *argv], capture_output=True, text=True)
        assert run.returncode != 0, args
        assert args[0] in run.stderr, run.stderr
    assert not (tmp_path / "x").exists()


def test_cli_writes_an_extract(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    run = subprocess.run(
        [
            sys.executable,
            *CLI,
            "--accounts",
            "50",
            "--days",
            "10",
            "--seed",
            "3",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "user_activity_daily" in run.stdout
    assert manifest(out)["row_counts"]["accounts"] == pq.read_table(out / "accounts").num_rows


# ---------------------------------------------------------------------------- defects

DIRTY = {"accounts": 60, "days": 90, "seed": 5, "dirty": True, "dirty_rate": 0.15}


def test_dirty_run_injects_every_kind_and_counts_add_up(healthgen_extract) -> None:
    raw = healthgen_extract(**DIRTY)
    clean = healthgen_extract(accounts=60, days=90, seed=5)
    defects = pq.read_table(raw / "_defects" / "defects.parquet").to_pylist()
    assert {d["defect_kind"] for d in defects} == set(KINDS)
    m = manifest(raw)
    logged: dict[str, dict[str, int]] = {}
    for d in defects:
        per = logged.setdefault(d["table_name"], {})
        per[d["defect_kind"]] = per.get(d["defect_kind"], 0) + 1
    assert m["defect_counts"] == logged
    assert m["defect_rows"] == len(defects)

    extra_kinds = {"exact_duplicate", "near_duplicate"}
    for table in TABLE_NAMES:
        spec = TABLES_BY_NAME[table]
        n_raw = pq.read_table(raw / table).num_rows
        n_clean = pq.read_table(clean / table).num_rows
        copies = sum(
            1
            for d in defects
            if d["table_name"] == table
            and (
                d["defect_kind"] in extra_kinds
                or (spec.referenced and d["defect_kind"] in DAMAGING)
            )
        )
        assert n_raw == n_clean + copies, table
        assert m["row_counts"][table] == n_raw
        assert m["clean_row_counts"][table] == n_clean


REASONS = {
    "exact_duplicate": lambda c: "exact_duplicate",
    "near_duplicate": lambda c: "near_duplicate",
    "null_required": lambda c: f"missing_{c}",
    "unparseable": lambda c: f"unparseable_{c}",
    "negative": lambda c: f"negative_{c}",
    "future_timestamp": lambda c: f"future_{c}",
    "unknown_account": lambda c: "unknown_account_id",
    "non_utc_offset": lambda c: None,
    "unknown_play": lambda c: f"unknown_{c}",
    "completed_before_started": lambda c: "completed_before_started",
}
OFFSET_SUFFIXES = {"+05:30", "-04:00", "+02:00", "-07:00", "+09:00", "+01:00", "-03:00", "+10:00"}


def test_each_logged_defect_is_what_its_kind_says(healthgen_extract) -> None:
    raw = healthgen_extract(**DIRTY)
    defects = pq.read_table(raw / "_defects" / "defects.parquet").to_pylist()
    activities = pq.read_table(raw / "csm_activities").to_pylist()
    started_at = {
        a["activity_id"]: dt.datetime.fromisoformat(a["started_at"])
        for a in activities
        if a["started_at"] and a["started_at"].endswith("Z")
    }
    seen_keys: dict[str, set[str]] = {}
    unparseable: list[tuple[str, str]] = []
    for d in defects:
        table, kind, col = d["table_name"], d["defect_kind"], d["column_name"]
        spec = TABLES_BY_NAME[table]
        assert d["expected_reason"] == REASONS[kind](col), d
        keys = seen_keys.setdefault(table, set())
        assert d["row_key"] not in keys, d  # one defect per row
        keys.add(d["row_key"])
        if kind == "exact_duplicate":
            assert col is None
            continue
        assert col not in spec.key or kind == "unknown_account", d
        assert col != "_loaded_at", d
        column = spec.column(col)
        if kind in ("near_duplicate", "non_utc_offset"):
            assert d["injected_value"] != d["original_value"]
        if kind == "near_duplicate" and column.kind == "enum":
            assert d["injected_value"].strip().lower() == d["original_value"].lower()
        if kind in ("near_duplicate", "non_utc_offset") and column.kind == "timestamp":
            same = dt.datetime.fromisoformat(d["injected_value"])
            assert same == dt.datetime.fromisoformat(d["original_value"]), d
        if kind == "non_utc_offset":
            assert d["original_value"].endswith("Z")
            assert d["injected_value"][-6:] in OFFSET_SUFFIXES
        if kind == "null_required":
            assert d["injected_value"] is None
            assert column.required
        if kind == "unparseable":
            unparseable.append((d["injected_value"], CAST_TYPES[column.kind]))
        if kind == "negative":
            assert float(d["injected_value"]) < 0
            assert column.amount
        if kind == "future_timestamp":
            assert column.event
        if kind == "unknown_account":
            assert d["injected_value"].startswith("acc_9")
            assert table != "accounts"
        if kind == "unknown_play":
            assert (table, col) == ("csm_activities", "play_id")
            assert d["original_value"] in PLAY_IDS
            assert d["injected_value"] not in PLAY_IDS
        if kind == "completed_before_started":
            assert (table, col) == ("csm_activities", "completed_at")
            started = started_at[d["row_key"]]
            injected = dt.datetime.fromisoformat(d["injected_value"])
            assert dt.timedelta(hours=1) <= started - injected <= dt.timedelta(hours=72), d
    assert unparseable
    con = duckdb.connect()
    for value, target in set(unparseable):
        assert con.execute(f"select try_cast(? as {target}) is null", [value]).fetchone() == (
            True,
        ), (value, target)


def test_defects_point_at_clean_values_and_show_in_raw_rows(healthgen_extract) -> None:
    raw = healthgen_extract(**DIRTY)
    clean = healthgen_extract(accounts=60, days=90, seed=5)
    con = duckdb.connect()
    con.execute(f"create view d as select * from read_parquet('{raw}/_defects/defects.parquet')")
    for table in TABLE_NAMES:
        con.execute(
            f"create view raw_{table} as select * from read_parquet('{raw}/{table}/*.parquet')"
        )
        con.execute(
            f"create view clean_{table} as select * from read_parquet('{clean}/{table}/*.parquet')"
        )
    groups = con.execute(
        "select distinct table_name, column_name from d where column_name is not null"
    ).fetchall()
    checked = 0
    for table, col in groups:
        spec = TABLES_BY_NAME[table]
        key = "concat_ws('|', " + ", ".join(f"x.{k}" for k in spec.key) + ")"
        rows = con.execute(
            f"""select d.defect_kind, d.original_value, d.injected_value,
                   (select list(x.{col}) from clean_{table} x where {key} = d.row_key),
                   (select list(x.{col}) from raw_{table} x where {key} = d.row_key)
                from d where d.table_name = ? and d.column_name = ?""",
            [table, col],
        ).fetchall()
        for kind, original, injected, clean_values, raw_values in rows:
            assert clean_values == [original], (table, col, kind)
            if kind == "unknown_account" and "account_id" in spec.key:
                continue
            in_place = kind == "non_utc_offset" or (kind in DAMAGING and not spec.referenced)
            expected = [injected] if in_place else [original, injected]
            assert sorted(raw_values, key=str) == sorted(expected, key=str), (table, col, kind)
            checked += 1
    assert checked > 100


def test_future_timestamps_lie_30_to_400_days_after_loaded_at(healthgen_extract) -> None:
    raw = healthgen_extract(**DIRTY)
    con = connect(raw)
    rows = con.execute(
        f"""select table_name, column_name, row_key, injected_value
            from read_parquet('{raw}/_defects/defects.parquet')
            where defect_kind = 'future_timestamp'"""
    ).fetchall()
    assert rows
    loaded_at = {}
    for table in {r[0] for r in rows}:
        spec = TABLES_BY_NAME[table]
        key = "concat_ws('|', " + ", ".join(spec.key) + ")"
        loaded_at[table] = dict(con.execute(f"select {key}, _loaded_at from {table}").fetchall())
    for table, col, row_key, injected in rows:
        loaded = loaded_at[table][row_key]
        gap = (dt.date.fromisoformat(injected[:10]) - dt.date.fromisoformat(loaded[:10])).days
        assert 30 <= gap <= 400, (table, col, gap)


def test_dirty_runs_are_deterministic(healthgen_extract, tmp_path: Path) -> None:
    first = healthgen_extract(**DIRTY)
    again = tmp_path / "again"
    generate(
        Config(accounts=60, days=90, seed=5, out=again, dirty=True, dirty_rate=0.15, chunk_size=50)
    )
    assert pq.read_table(first / "_defects").equals(pq.read_table(again / "_defects"))
    for table in TABLE_NAMES:
        assert pq.read_table(first / table).equals(pq.read_table(again / table)), table


def test_default_rate_damages_about_two_percent(healthgen_extract) -> None:
    raw = healthgen_extract(accounts=60, days=90, seed=5, dirty=True)
    m = manifest(raw)
    clean_rows = sum(m["clean_row_counts"].values())
    assert 0.015 < m["defect_rows"] / clean_rows < 0.025
    assert m["clean_row_counts"]["features"] <= m["row_counts"]["features"]


# ---------------------------------------------------------------------------- realism


@pytest.fixture(scope="module")
def population(healthgen_extract) -> duckdb.DuckDBPyConnection:
    return connect(healthgen_extract(accounts=600, days=365, seed=21, chunk_size=300))


def test_population_mix(population: duckdb.DuckDBPyConnection) -> None:
    con = population
    mix = dict(
        con.execute(
            "select segment, count(*) / sum(count(*)) over () from accounts group by 1"
        ).fetchall()
    )
    assert 0.48 < mix["SMB"] < 0.62
    assert 0.23 < mix["Mid-Market"] < 0.37
    assert 0.1 < mix["Enterprise"] < 0.2
    new = scalar(con, "select avg((created_at >= '2024-01-01')::int) from accounts")
    assert 0.1 < new < 0.2
    seats = dict(
        con.execute(
            """select a.segment, median(cast(licensed_seats as int)) from contracts
               join accounts a using (account_id) where contract_type = 'new' group by 1"""
        ).fetchall()
    )
    assert 3 <= seats["SMB"] <= 20
    assert 15 <= seats["Mid-Market"] <= 80
    assert 60 <= seats["Enterprise"] <= 250
    users_per_seat = scalar(
        con,
        """select count(*) / (select sum(cast(licensed_seats as int)) from contracts
                              where status = 'active' and contract_type != 'add_on')
           from users where deactivated_at is null""",
    )
    assert 0.7 < users_per_seat < 1.2


def test_churn_is_a_minority_of_renewals_and_is_preceded_by_low_activity(
    population: duckdb.DuckDBPyConnection,
) -> None:
    con = population
    decided = con.execute(
        """select date_diff('month', cast(start_date as date), cast(end_date as date) + 1)
                      as term_months, status, count(*)
           from contracts
           where contract_type != 'add_on' and status != 'active' and end_date >= '2024-01-01'
           group by 1, 2"""
    ).fetchall()
    counts: dict[int, dict[str, int]] = {}
    for months, status, count in decided:
        counts.setdefault(months, {"churned": 0, "renewed": 0})[status] = count
    rates = {m: c["churned"] / (c["churned"] + c["renewed"]) for m, c in counts.items()}
    # Annual terms: a minority of decisions are churn. Monthly and quarterly plans decide
    # every term with the same yearly hazard spread over it, so a decision churns less often.
    assert {1, 3, 12} <= set(rates), counts
    assert 0.06 < rates[12] < 0.22, counts
    assert 0 < rates[1] < rates[3] < rates[12], counts
    assert rates[1] < rates[12] / 2, counts
    plans = dict(
        con.execute(
            """select date_diff('month', cast(c.start_date as date), cast(c.end_date as date) + 1),
                      count(*) / sum(count(*)) over ()
               from contracts c join accounts a using (account_id)
               where c.contract_type = 'new' and a.segment = 'SMB' group by 1"""
        ).fetchall()
    )
    assert 0.25 < plans[1] < 0.45, plans
    assert 0.08 < plans[3] < 0.22, plans
    assert 0.4 < plans[12] < 0.6, plans
    per_seat = dict(
        con.execute(
            """with t as (
                   select account_id, status, cast(end_date as date) as e,
                          cast(licensed_seats as int) as seats
                   from contracts
                   where contract_type != 'add_on' and status in ('churned', 'renewed')
                     and cast(end_date as date) >= date '2024-03-15')
               select t.status, avg(coalesce(a.n, 0) / t.seats / 60.0)
               from t left join lateral (
                   select count(*) as n from user_activity_daily u
                   where u.account_id = t.account_id
                     and cast(u.activity_date as date) between t.e - 60 and t.e - 1) a on true
               group by 1"""
        ).fetchall()
    )
    assert per_seat["churned"] < 0.75 * per_seat["renewed"], per_seat
    assert per_seat["churned"] > 0.0, per_seat


def test_surveys_tickets_and_billing_look_plausible(population: duckdb.DuckDBPyConnection) -> None:
    con = population
    covered = scalar(
        con,
        """select avg((exists (select 1 from survey_responses s where s.account_id = a.account_id
                              and s.responded_at > '2024-10-01'))::int)
           from accounts a where a.created_at < '2024-07-01'""",
    )
    assert 0.25 < covered < 0.8
    nps = scalar(
        con, "select avg(cast(score as int)) from survey_responses where survey_type = 'nps'"
    )
    assert 5.5 < nps < 9
    hours = dict(
        con.execute(
            f"""select severity, median(date_diff('minute', {ts("opened_at")}, {ts("resolved_at")}))
                from tickets group by 1"""
        ).fetchall()
    )
    assert hours["low"] < hours["urgent"]
    statuses = {s for (s,) in con.execute("select distinct status from invoices").fetchall()}
    assert {"paid", "open"} <= statuses
    failed = scalar(con, "select avg((payment_status = 'failed')::int) from payments")
    assert 0.01 < failed < 0.2
    kinds = {
        k for (k,) in con.execute("select distinct outcome_type from account_outcomes").fetchall()
    }
    assert kinds == {"churned", "renewed", "contracted", "expanded"}
    stalled = scalar(
        con,
        """select avg((completed_at is null)::int) from onboarding_milestones
           where milestone_name = 'go_live'""",
    )
    assert 0.02 < stalled < 0.4


# ---------------------------------------------------------------------------- CSM plays


def test_the_generator_runs_the_plays_of_the_playbook_seed() -> None:
    with PLAYBOOK.open(newline="", encoding="utf-8") as f:
        seed_plays = tuple(row["play_id"] for row in csv.DictReader(f))
    assert seed_plays == PLAY_IDS


def test_csms_run_plays_and_record_how_they_end(population: duckdb.DuckDBPyConnection) -> None:
    con = population
    account_years = scalar(
        con,
        """select sum(date_diff('day', greatest(cast(a.created_at as date), date '2024-01-01'),
                                least(coalesce(cast(o.outcome_date as date), date '2024-12-30'),
                                      date '2024-12-30')) + 1) / 365.0
           from accounts a left join account_outcomes o
             on o.account_id = a.account_id and o.outcome_type = 'churned'""",
    )
    plays = scalar(con, "select count(*) from csm_activities")
    assert isinstance(account_years, float)
    assert isinstance(plays, int)
    assert 150 < 100 * plays / account_years < 350
    assert scalar(con, "select count(distinct play_id) from csm_activities") == len(PLAY_IDS)
    # Most plays are recorded as finished, some never are; the customer sometimes does not
    # answer or declines.
    finished = scalar(con, "select avg((completed_at is not null)::int) from csm_activities")
    assert 0.65 < finished < 0.95, finished
    outcomes = dict(
        con.execute(
            "select outcome, count(*) / sum(count(*)) over () from csm_activities"
            " where outcome is not null group by 1"
        ).fetchall()
    )
    assert set(outcomes) == {"completed", "no_response", "customer_declined"}
    assert outcomes["completed"] > 0.6
    assert 0.05 < outcomes["no_response"] < 0.3
    # Larger accounts get more of their CSM's time.
    per_account = dict(
        con.execute(
            """select a.segment, count(p.activity_id) / count(distinct a.account_id)
               from accounts a left join csm_activities p using (account_id) group by 1"""
        ).fetchall()
    )
    assert per_account["SMB"] < per_account["Mid-Market"] < per_account["Enterprise"]


# Each play started on a trigger the CSM saw a few days before (its delay in plays.PLAYS).
PLAY_TRIGGERS = {
    "champion_replacement": """exists (select 1 from stakeholder_events s
        where s.account_id = p.account_id and s.stakeholder_role = 'champion'
          and s.event_type = 'left'
          and cast(s.occurred_at as date) between p.started - 14 and p.started - 3)""",
    "support_escalation_review": """exists (select 1 from tickets k
        where k.account_id = p.account_id
          and cast(coalesce(k.escalated_at, case when k.severity = 'urgent' then k.opened_at end)
                   as date) between p.started - 3 and p.started - 1)""",
    "billing_follow_up": """exists (select 1 from invoices i
        where i.account_id = p.account_id and i.status != 'void'
          and cast(i.due_date as date) + 1 between p.started - 7 and p.started - 2
          and coalesce(cast(i.paid_at as date), date '9999-01-01') >= p.started)""",
    "renewal_rescue": """exists (select 1 from contracts c
        where c.account_id = p.account_id and c.contract_type != 'add_on'
          and p.started between cast(c.end_date as date) - 100 and cast(c.end_date as date))""",
}


@pytest.mark.parametrize("play", sorted(PLAY_TRIGGERS))
def test_a_play_follows_what_the_csm_saw(population: duckdb.DuckDBPyConnection, play: str) -> None:
    plays, explained = population.execute(
        f"""select count(*), count_if({PLAY_TRIGGERS[play]})
            from (select *, cast(started_at as date) as started from csm_activities) p
            where p.play_id = ?""",
        [play],
    ).fetchone() or (0, 0)
    assert plays >= 5, play
    assert explained == plays, play


def test_many_triggers_get_no_play(population: duckdb.DuckDBPyConnection) -> None:
    # About half the champions who leave get a replacement play within 15 days.
    covered = scalar(
        population,
        """select avg((exists (select 1 from csm_activities p
                              where p.account_id = s.account_id
                                and p.play_id = 'champion_replacement'
                                and cast(p.started_at as timestamp)
                                    between cast(s.occurred_at as timestamp)
                                    and cast(s.occurred_at as timestamp) + interval 15 day))::int)
           from stakeholder_events s
           where s.stakeholder_role = 'champion' and s.event_type = 'left'
             and s.occurred_at between '2024-01-02' and '2024-12-01'""",
    )
    assert 0.25 < covered < 0.8, covered


def test_plays_follow_the_health_the_csm_reads(world_extract) -> None:
    con = connect_world(world_extract("annual"))
    health = dict(
        con.execute(
            """select p.play_id, avg(t.smoothed_health) from csm_activities p
               join truth t on t.account_id = p.account_id and t.date = left(p.started_at, 10)
               group by 1"""
        ).fetchall()
    )
    risky = ("critical_escalation", "at_risk_recovery_plan", "churn_risk_save", "renewal_rescue")
    assert max(health[play] for play in risky) < health["monitor_check_in"], health
    assert health["monitor_check_in"] < min(health["healthy_qbr"], health["expansion_discovery"])
    assert health["critical_escalation"] < 0.45 < 0.7 < health["healthy_qbr"], health


def _daily_health(world: World, days: int = 300) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One block of 50 accounts simulated ``days`` days: its plays and health per day."""
    sim = ChunkSimulation(11, dt.date(2024, 1, 1), 0, 50, world)
    health = []
    for t in range(days):
        sim.step(t)
        health.append(sim.h.copy())
    return sim.plays.take(), np.array(health)


def test_a_play_works_only_sometimes_by_a_bounded_amount_from_the_day_after_it_starts() -> None:
    from customer_health.generator import plays as pb

    annual = WORLDS["annual"]
    plays, health = _daily_health(annual)
    _, unaffected = _daily_health(dataclasses.replace(annual, play_effect=0.0))
    _, unplayed = _daily_health(dataclasses.replace(annual, play_coverage=0.0))
    works = plays["lift_micro"] > 0
    assert len(works) > 50
    # Only a play the customer took part in can work, and only with its chance.
    assert 0.08 < works.mean() < 0.4, works.mean()
    assert set(plays["outcome"][works]) == {pb.OUT_COMPLETED}
    completed = plays["outcome"] == pb.OUT_COMPLETED
    assert 0.2 < works[completed].mean() < 0.6
    lift = plays["lift_micro"][works] / 1e6
    assert pb.LIFT_RANGE[0] <= lift.min()
    assert lift.max() <= pb.LIFT_RANGE[1]
    # The health is what it would be without the play up to the day it starts, better after.
    first = int(np.argmin(np.where(works, plays["started_s"], NA)))
    start_day, acct = int(plays["started_s"][first] // DAY), int(plays["acct"][first])
    assert np.array_equal(health[: start_day + 1], unaffected[: start_day + 1])
    assert (health[start_day + 1 :, acct] > unaffected[start_day + 1 :, acct]).any()
    assert health[start_day + 1, acct] > unaffected[start_day + 1, acct]
    # Plays that change nothing leave the health exactly as without any play.
    assert np.array_equal(unaffected, unplayed)


def test_plays_that_do_not_work_change_no_other_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The plays draw from streams of their own: without an effect, every other table is
    # byte for byte the one written when the CSMs run no play at all (a world whose CSMs run
    # no play leaves their process out, draws included).
    from customer_health.generator import worlds

    annual = worlds.WORLDS["annual"]
    outs = {}
    for name, world in {
        "no_effect": dataclasses.replace(annual, play_effect=0.0),
        "no_plays": dataclasses.replace(annual, play_coverage=0.0),
    }.items():
        monkeypatch.setitem(worlds.WORLDS, "annual", world)
        outs[name] = tmp_path / name
        generate(Config(accounts=100, days=150, seed=11, out=outs[name], chunk_size=50))
    for table in TABLE_NAMES:
        files = sorted(p.name for p in (outs["no_effect"] / table).glob("*.parquet"))
        if table == "csm_activities":
            assert pq.read_table(outs["no_effect"] / table).num_rows > 50
            assert pq.read_table(outs["no_plays"] / table).num_rows == 0
            continue
        for name in files:
            first = (outs["no_effect"] / table / name).read_bytes()
            assert first == (outs["no_plays"] / table / name).read_bytes(), (table, name)


def test_worlds_differ_in_how_many_plays_run_and_whether_they_work(world_extract) -> None:
    from customer_health.generator.worlds import WORLDS as ALL

    assert ALL["monthly"].play_effect == 0.0
    assert ALL["usage"].play_coverage < 0.5
    plays_per_account = {
        world: scalar(
            connect_world(world_extract(world)),
            "select count(*) / (select count(*) from accounts) from csm_activities",
        )
        for world in ("annual", "usage")
    }
    ratio = plays_per_account["usage"] / plays_per_account["annual"]
    assert 0.1 < ratio < 0.35, plays_per_account
    plays, _ = _daily_health(WORLDS["monthly"], days=200)
    assert len(plays["acct"]) > 20
    assert (plays["lift_micro"] == 0).all()


# ---------------------------------------------------------------------------- worlds

WORLD_RUN = {"accounts": 200, "days": 400, "seed": 23, "chunk_size": 100}
TRUTH_COLUMNS = ["account_id", "date", "latent_health", "smoothed_health"]


@pytest.fixture(scope="module")
def world_extract(tmp_path_factory: pytest.TempPathFactory):
    """Factory: the extract of one world (``WORLD_RUN``, with ``--truth``), made once."""
    cache: dict[str, Path] = {}

    def make(world: str) -> Path:
        if world not in cache:
            out = tmp_path_factory.mktemp(f"world_{world}")
            generate(Config(out=out, world=world, truth=True, **WORLD_RUN))
            cache[world] = out
        return cache[world]

    return make


def connect_world(raw: Path) -> duckdb.DuckDBPyConnection:
    """Views of a world's tables; a table the world does not write is an empty view."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for spec in TABLES:
        if (raw / spec.name).is_dir():
            source = f"select * from read_parquet('{raw}/{spec.name}/*.parquet')"
        else:
            cols = ", ".join(f"cast(null as varchar) as {c}" for c in spec.column_names)
            source = f"select {cols} where false"
        con.execute(f"create view {spec.name} as {source}")
    if (raw / "_truth").is_dir():
        con.execute(
            f"create view truth as select * from read_parquet('{raw}/_truth/latent_health.parquet')"
        )
    return con


def test_annual_world_is_the_default_and_unchanged(healthgen_extract, tmp_path: Path) -> None:
    default = healthgen_extract()
    named = tmp_path / "annual"
    generate(Config(accounts=120, days=150, seed=11, out=named, chunk_size=50, world="annual"))
    for table in TABLE_NAMES:
        assert pq.read_table(default / table).equals(pq.read_table(named / table)), table
    first, again = manifest(default), manifest(named)
    assert first["world"] == again["world"] == "annual"
    first.pop("seconds")
    again.pop("seconds")
    assert first == again


@pytest.mark.parametrize(
    "world", ["annual", "monthly", "usage", "sparse", "low_activity", "high_activity"]
)
def test_each_world_generates_its_tables_and_says_so(world_extract, world: str) -> None:
    from customer_health.generator.worlds import WORLDS, world_tables

    raw = world_extract(world)
    m = manifest(raw)
    assert m["world"] == world
    tables = world_tables(WORLDS[world])
    assert list(m["row_counts"]) == list(tables)
    folders = {p.name for p in raw.iterdir() if p.is_dir()}
    assert folders == {*tables, "_truth"}
    for table in tables:
        assert m["row_counts"][table] == pq.read_table(raw / table).num_rows > 0, table


@pytest.mark.parametrize("world", ["monthly", "usage", "sparse", "low_activity", "high_activity"])
def test_each_world_keeps_every_contract_rule(world_extract, world: str) -> None:
    con = connect_world(world_extract(world))
    last = dt.date(2024, 1, 1) + dt.timedelta(days=WORLD_RUN["days"] - 1)
    end = f"'{last}T23:59:59Z'"
    assert not contract_rule_problems(con, last, end)


@pytest.mark.parametrize(
    "world", ["annual", "monthly", "usage", "sparse", "low_activity", "high_activity"]
)
def test_churn_in_each_world_follows_the_latent_health(world_extract, world: str) -> None:
    # Accounts that churned had a lower smoothed health over their last 60 days than
    # accounts that renewed had over the 60 days before their last renewal.
    con = connect_world(world_extract(world))
    by_outcome = {
        churned: (health, n)
        for churned, health, n in con.execute(
            """with decided as (
                   select account_id, bool_or(outcome_type = 'churned') as churned,
                          max(cast(outcome_date as date)) as last_decision
                   from account_outcomes where outcome_date >= '2024-03-01' group by 1)
               select churned, avg(health), count(*) from (
                   select d.account_id, d.churned, avg(t.smoothed_health) as health
                   from decided d join truth t using (account_id)
                   where cast(t.date as date) between d.last_decision - 59 and d.last_decision
                   group by 1, 2)
               group by 1"""
        ).fetchall()
    }
    assert by_outcome[True][1] >= 5, by_outcome
    assert by_outcome[False][1] >= 50, by_outcome
    assert by_outcome[True][0] < by_outcome[False][0] - 0.1, by_outcome


def test_truth_writes_the_latent_health_and_changes_nothing_else(
    healthgen_extract, tmp_path: Path
) -> None:
    plain = healthgen_extract()
    out = tmp_path / "truth"
    generate(Config(accounts=120, days=150, seed=11, out=out, chunk_size=50, truth=True))
    for table in TABLE_NAMES:
        assert pq.read_table(plain / table).equals(pq.read_table(out / table)), table
    assert {p.name for p in out.iterdir()} == {p.name for p in plain.iterdir()} | {"_truth"}
    first, again = manifest(plain), manifest(out)
    for m in (first, again):
        m.pop("seconds")
    assert again.pop("truth") is True
    assert first == again

    truth = pq.read_table(out / "_truth" / "latent_health.parquet")
    assert truth.column_names == TRUTH_COLUMNS
    con = connect_world(out)
    # One row per account and day from its creation (or the start) to its churn (or the end).
    expected = scalar(
        con,
        """select sum(date_diff('day', greatest(cast(a.created_at as date), date '2024-01-01'),
                                least(coalesce(cast(o.outcome_date as date), date '2024-05-29'),
                                      date '2024-05-29')) + 1)
           from accounts a left join account_outcomes o
             on o.account_id = a.account_id and o.outcome_type = 'churned'""",
    )
    assert truth.num_rows == expected
    assert scalar(con, "select count(*) from truth t anti join accounts a using (account_id)") == 0
    assert scalar(con, "select count(*) from (select distinct account_id, date from truth)") == (
        truth.num_rows
    )
    bad = scalar(
        con,
        f"""select count(*) from truth
            where not regexp_full_match(account_id, '{ID_RE["account_id"]}')
               or not regexp_full_match(date, '{DATE_RE}')
               or not (latent_health > 0 and latent_health < 1)
               or not (smoothed_health > 0 and smoothed_health < 1)""",
    )
    assert bad == 0
    churned_later = scalar(
        con,
        """select count(*) from truth t join account_outcomes o using (account_id)
           where o.outcome_type = 'churned' and t.date > o.outcome_date""",
    )
    assert churned_later == 0


def test_rerun_without_truth_removes_it(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    generate(Config(accounts=50, days=20, seed=1, out=out, truth=True))
    assert (out / "_truth" / "latent_health.parquet").is_file()
    generate(Config(accounts=50, days=20, seed=1, out=out))
    assert not (out / "_truth").exists()
    assert "truth" not in manifest(out)


def test_sparse_world_has_product_data_only_and_flat_roles(world_extract) -> None:
    from customer_health.generator.worlds import PRODUCT_ONLY_TABLES

    raw = world_extract("sparse")
    assert {p.name for p in raw.iterdir() if p.is_dir()} == {*PRODUCT_ONLY_TABLES, "_truth"}
    con = connect_world(raw)
    roles = dict(con.execute("select user_role, count(*) from users group by 1").fetchall())
    assert set(roles) == {"admin", "member"}
    # The admin is each account's first user, and every account has one.
    assert roles["admin"] == scalar(con, "select count(distinct account_id) from users")
    assert scalar(con, "select count(*) from users where user_role = 'admin' "
                       "and user_id not like '%0001'") == 0  # fmt: skip
    assert scalar(con, "select count(*) from users where team is not null") == 0
    # The simulation is the annual world's: the other tables it writes are the same rows.
    annual = world_extract("annual")
    for table in PRODUCT_ONLY_TABLES:
        if table != "users":
            assert pq.read_table(raw / table).equals(pq.read_table(annual / table)), table


def test_sparse_world_dirty_with_next_day_writes_only_its_tables(tmp_path: Path) -> None:
    from customer_health.generator.worlds import PRODUCT_ONLY_TABLES

    base, nxt = tmp_path / "base", tmp_path / "next"
    cfg = Config(
        accounts=100, days=60, seed=4, out=base, chunk_size=50, dirty=True, dirty_rate=0.1,
        next_day_out=nxt, world="sparse",
    )  # fmt: skip
    generate(cfg)
    for out in (base, nxt):
        m = manifest(out)
        assert m["world"] == "sparse"
        assert set(m["row_counts"]) == set(PRODUCT_ONLY_TABLES)
        tables = {p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith("_")}
        assert tables == set(PRODUCT_ONLY_TABLES)
        defects = pq.read_table(out / "_defects" / "defects.parquet")
        assert set(defects.column("table_name").to_pylist()) == set(PRODUCT_ONLY_TABLES)
    assert manifest(nxt)["appended_tables"] == ["user_activity_daily"]
    assert manifest(nxt)["delivery_date"] == "2024-03-01"


@pytest.mark.parametrize("world", ["usage", "sparse"])
def test_a_world_next_day_delivery_is_its_longer_run(tmp_path: Path, world: str) -> None:
    from customer_health.generator.generator import STREAMED

    run = {"accounts": 100, "seed": 9, "chunk_size": 50, "world": world}
    base, nxt, longer = tmp_path / "base", tmp_path / "next", tmp_path / "longer"
    generate(Config(days=90, out=base, next_day_out=nxt, **run))
    generate(Config(days=91, out=longer, **run))
    assert manifest(nxt)["world"] == world
    for table in Config(days=1, out=base, **run).tables:
        if table in STREAMED:
            combined = pa.concat_tables([pq.read_table(base / table), pq.read_table(nxt / table)])
        else:
            combined = pq.read_table(nxt / table)
        combined = combined.sort_by([(c, "ascending") for c in combined.column_names])
        assert combined.equals(sorted_rows(longer, table)), table


def test_a_world_chunk_size_only_changes_the_file_layout(tmp_path: Path) -> None:
    run = {"accounts": 100, "days": 90, "seed": 8, "world": "usage", "truth": True}
    small, large = tmp_path / "small", tmp_path / "large"
    generate(Config(out=small, chunk_size=50, **run))
    generate(Config(out=large, chunk_size=100, **run))
    for table in [*TABLE_NAMES, "_truth"]:
        assert sorted_rows(small, table).equals(sorted_rows(large, table)), table


def test_monthly_world_renews_or_cancels_every_month(world_extract) -> None:
    con = connect_world(world_extract("monthly"))
    terms = dict(
        con.execute(
            """select cast(start_date as date) + interval 1 month - interval 1 day
                      = cast(end_date as date), count(*)
               from contracts group by 1"""
        ).fetchall()
    )
    assert set(terms) == {True}, terms
    assert scalar(con, "select count(*) from contracts where contract_type = 'add_on'") == 0
    # Monthly billing: one invoice per term, of a twelfth of its ARR.
    per_term = con.execute(
        """select count(*), max(abs(cast(i.amount as decimal(18, 2))
                                   - round(cast(c.arr as decimal(18, 2)) / 12, 2)))
           from invoices i join contracts c using (contract_id)"""
    ).fetchone()
    assert per_term is not None
    assert per_term[0] > 0
    assert per_term[1] <= 0.01
    assert (
        scalar(con, "select max(n) from (select count(*) as n from invoices group by contract_id)")
        == 1
    )
    # A decision a month with the yearly odds spread over it: about as many accounts leave
    # in a year as in the annual world.
    annual = connect_world(world_extract("annual"))
    churn = "select count(*) from account_outcomes where outcome_type = 'churned'"
    ratio = scalar(con, churn) / scalar(annual, churn)
    assert 0.6 < ratio < 1.8, ratio


def test_usage_world_seats_are_plan_tiers_not_user_counts(world_extract) -> None:
    from customer_health.generator.worlds import TIERS

    per_account = """
        with seated as (
            select account_id, count(*) as users from users
            where activated_at is not null and deactivated_at is null group by 1),
        plan as (
            select account_id, cast(licensed_seats as int) as seats,
                   cast(arr as double) as arr
            from contracts where status = 'active' and contract_type != 'add_on')
        select segment, corr(seats, users), corr(arr, users), count(*)
        from plan join seated using (account_id) join accounts using (account_id)
        group by 1"""
    constant = """
        select avg((n_seats = 1)::int), count(*) from (
            select account_id, count(distinct licensed_seats) as n_seats from contracts
            where contract_type != 'add_on' group by 1 having count(*) >= 2)"""
    usage = connect_world(world_extract("usage"))
    seats = {
        int(s) for (s,) in usage.execute("select distinct licensed_seats from contracts").fetchall()
    }
    assert seats <= set(TIERS)
    for segment, seats_users, arr_users, n in usage.execute(per_account).fetchall():
        assert n >= 20, segment
        assert seats_users < 0.6, (segment, seats_users)
        assert arr_users > 0.8, (segment, arr_users)
    kept, n = usage.execute(constant).fetchone()
    assert n >= 100
    assert kept > 0.75
    # The roster moves with engagement while the plan stays: seated users changed over the run
    # for most accounts whose plan never changed.
    moved = scalar(
        usage,
        """with fixed as (
               select account_id from contracts where contract_type != 'add_on'
               group by 1 having count(distinct licensed_seats) = 1 and count(*) >= 2)
           select avg((start_users != end_users)::int) from (
               select account_id,
                      count(*) filter (where activated_at < '2024-01-01'
                          and coalesce(deactivated_at, '9') >= '2024-01-01') as start_users,
                      count(*) filter (where activated_at is not null
                          and deactivated_at is null) as end_users
               from users join fixed using (account_id) group by 1)""",
    )
    assert moved > 0.5
    # The same measures in the annual world, where seats are bought per user.
    annual = connect_world(world_extract("annual"))
    for segment, seats_users, _, _ in annual.execute(per_account).fetchall():
        assert seats_users > 0.8, (segment, seats_users)
    assert annual.execute(constant).fetchone()[0] < 0.6


def _activity_rates(raw: Path) -> tuple[float, float]:
    """Active user-days per activated user, and key events per active user-day."""
    con = connect_world(raw)
    row = con.execute(
        """select count(*) / (select count(*) from users where activated_at is not null),
                  avg(cast(key_events as int))
           from user_activity_daily"""
    ).fetchone()
    assert row is not None
    return float(row[0]), float(row[1])


def test_activity_worlds_scale_what_users_do(world_extract) -> None:
    days, keys = _activity_rates(world_extract("annual"))
    low_days, low_keys = _activity_rates(world_extract("low_activity"))
    high_days, high_keys = _activity_rates(world_extract("high_activity"))
    assert 0.05 < low_days / days < 0.2, (low_days, days)
    assert 0.8 < low_keys / keys < 1.25, (low_keys, keys)
    assert high_days == days
    assert 5 < high_keys / keys < 20, (high_keys, keys)
    minutes = "select max(cast(active_minutes as int)) from user_activity_daily"
    assert scalar(connect_world(world_extract("high_activity")), minutes) <= 1440


def test_unknown_world_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from customer_health.generator.cli import parse_args
    from customer_health.generator.generator import validate
    from customer_health.generator.worlds import WORLD_NAMES

    argv = ["--accounts", "5", "--days", "5", "--seed", "1", "--out", str(tmp_path / "x")]
    with pytest.raises(SystemExit) as exc:
        parse_args([*argv, "--world", "quarterly"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--world" in err
    assert all(name in err for name in WORLD_NAMES)
    cfg, _ = parse_args([*argv, "--world", "usage", "--truth"])
    assert (cfg.world, cfg.truth) == ("usage", True)
    with pytest.raises(ValueError, match="--world"):
        validate(Config(accounts=5, days=5, seed=1, out=tmp_path, world="quarterly"))
    assert not (tmp_path / "x").exists()
