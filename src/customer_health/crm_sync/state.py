"""Sync state and audit, in a DuckDB file of their own (default data/crm_sync_state.duckdb).

- crm_sync_state: per destination and record, the payload hash the destination confirmed.
  A row is written only after a successful response, so what is not confirmed is re-sent.
- crm_sync_runs: one row per run, with its counts.
- crm_sync_rejections: one row per record a run could not deliver, with the API's message.

The file has one writer at a time, so two syncs cannot run at once on the same state.
Every text written here passes through `redact`. A state file that cannot be opened (locked
by another process, not a DuckDB file, or holding other tables of these names) raises
StateFileError, whose message is one line naming the file.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from customer_health.crm_sync.hubspot import RecordError
from customer_health.crm_sync.payload import Record
from customer_health.crm_sync.redact import redact

SCHEMA = """
create table if not exists crm_sync_runs (
    run_id varchar primary key,
    destination varchar not null,
    mode varchar not null,
    status varchar not null,
    rows_considered integer,
    planned_creates integer,
    planned_updates integer,
    rows_unchanged integer,
    rows_sent integer,
    rows_succeeded integer,
    rows_rejected integer,
    rows_undelivered integer,
    requests integer,
    retries integer,
    rate_limited integer,
    exit_code integer,
    summary varchar,
    started_at timestamp not null,
    finished_at timestamp
);
create table if not exists crm_sync_state (
    destination varchar not null,
    record_id varchar not null,
    payload_hash varchar not null,
    properties_json varchar not null,
    crm_object_id varchar,
    run_id varchar not null,
    synced_at timestamp not null,
    primary key (destination, record_id)
);
create table if not exists crm_sync_rejections (
    run_id varchar not null,
    destination varchar not null,
    record_id varchar not null,
    error_kind varchar not null,
    http_status integer,
    category varchar,
    message varchar not null,
    properties_json varchar,
    recorded_at timestamp not null
);
"""


class StateFileError(Exception):
    """The state file cannot be opened or is not a sync state file."""

    def __init__(self, path: Path, reason: str) -> None:
        lines = [line.strip() for line in reason.splitlines() if line.strip()]
        super().__init__(f"cannot use the sync state file {path}: {' '.join(lines)[:300]}")
        self.path = path


def describe(exc: Exception) -> str:
    """Why DuckDB could not use the file, in a few words."""
    text = str(exc)
    if "lock" in text.lower():
        holder = re.search(r"lock is held in (.*?\(PID \d+\))", text)
        held = f": held by {holder.group(1)}" if holder else ""
        return f"it is locked by another process (another sync running?){held}"
    if "not a valid DuckDB database file" in text:
        return "it is not a DuckDB database file (corrupt, or another kind of file)"
    return text


def table_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """table -> its columns in order, for the state tables that exist."""
    rows = con.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'main' and starts_with(table_name, 'crm_sync_') "
        "order by table_name, ordinal_position"
    ).fetchall()
    found: dict[str, list[str]] = {}
    for table, column in rows:
        found.setdefault(str(table), []).append(str(column))
    return found


@cache
def expected_columns() -> dict[str, list[str]]:
    """The columns SCHEMA gives each state table."""
    with duckdb.connect(":memory:") as con:
        con.execute(SCHEMA)
        return table_columns(con)


def check_tables(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """StateFileError unless each state table that exists has SCHEMA's columns."""
    expected = expected_columns()
    for table, columns in table_columns(con).items():
        if table in expected and columns != expected[table]:
            raise StateFileError(
                path, f"its table {table} is not a sync state table (columns {columns})"
            )


def connect_state(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A checked connection to the state file (created when writable and absent);
    StateFileError when the file cannot be used."""
    try:
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path), read_only=read_only)
    except (duckdb.Error, OSError) as exc:
        raise StateFileError(path, describe(exc)) from None
    try:
        if not read_only:
            con.execute(SCHEMA)
        check_tables(con, path)
    except duckdb.Error as exc:
        con.close()
        raise StateFileError(path, describe(exc)) from None
    except BaseException:
        con.close()
        raise
    return con


def properties_json(record: Record) -> str:
    return json.dumps(record.properties, sort_keys=True, ensure_ascii=False)


def utc_now() -> dt.datetime:
    """Now in UTC, stored without an offset (every timestamp of the state file is UTC)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass
class RunCounts:
    rows_considered: int = 0
    planned_creates: int = 0
    planned_updates: int = 0
    rows_unchanged: int = 0
    rows_sent: int = 0
    rows_succeeded: int = 0
    rows_rejected: int = 0
    rows_undelivered: int = 0
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0


def confirmed_hashes(path: Path, destination: str) -> dict[str, str]:
    """record id -> confirmed payload hash, read-only (empty without a state file)."""
    if not path.is_file():
        return {}
    with connect_state(path, read_only=True) as con:
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'main' and table_name = 'crm_sync_state'"
        ).fetchone()
        if not exists or not exists[0]:
            return {}
        return read_confirmed(con, destination)


def read_confirmed(con: duckdb.DuckDBPyConnection, destination: str) -> dict[str, str]:
    rows = con.execute(
        "select record_id, payload_hash from crm_sync_state where destination = ?",
        [destination],
    ).fetchall()
    return dict(rows)


class SyncState:
    """The writable state file for one run. Texts it stores are redacted of `secrets`
    (and of the patterns `redact` knows)."""

    def __init__(self, path: Path, secrets: Iterable[str] = ()) -> None:
        self.secrets = tuple(secrets)
        self.con = connect_state(path, read_only=False)

    def close(self) -> None:
        self.con.close()

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def confirmed_hashes(self, destination: str) -> dict[str, str]:
        return read_confirmed(self.con, self.redact(destination))

    def mark_interrupted(self) -> int:
        """Close the audit rows of runs that were killed (still `running`)."""
        rows = self.con.execute(
            "update crm_sync_runs set status = 'interrupted' where status = 'running' "
            "returning run_id"
        ).fetchall()
        return len(rows)

    def begin_run(self, destination: str, mode: str) -> str:
        run_id = uuid.uuid4().hex
        self.con.execute(
            "insert into crm_sync_runs (run_id, destination, mode, status, started_at) "
            "values (?, ?, ?, 'running', ?)",
            [run_id, self.redact(destination), mode, utc_now()],
        )
        return run_id

    def update_counts(self, run_id: str, counts: RunCounts) -> None:
        values = asdict(counts)
        assignments = ", ".join(f"{name} = ?" for name in values)
        self.con.execute(
            f"update crm_sync_runs set {assignments} where run_id = ?",
            [*values.values(), run_id],
        )

    def confirm(
        self,
        run_id: str,
        destination: str,
        records: Iterable[Record],
        object_ids: Mapping[str, str | None],
        counts: RunCounts,
    ) -> None:
        """Mark records as confirmed by the destination, with the run's counts so far, in
        one transaction."""
        records = list(records)
        confirmed = pa.table(
            {
                "record_id": [record.record_id for record in records],
                "payload_hash": [record.payload_hash for record in records],
                "properties_json": [properties_json(record) for record in records],
                "crm_object_id": pa.array(
                    [object_ids.get(record.record_id) for record in records], pa.string()
                ),
            }
        )
        self.con.execute("begin transaction")
        try:
            if records:
                self.con.register("confirmed_batch", confirmed)
                self.con.execute(
                    "insert into crm_sync_state (destination, record_id, payload_hash, "
                    "properties_json, crm_object_id, run_id, synced_at) "
                    "select ?, record_id, payload_hash, properties_json, crm_object_id, ?, ? "
                    "from confirmed_batch "
                    "on conflict (destination, record_id) do update set "
                    "payload_hash = excluded.payload_hash, "
                    "properties_json = excluded.properties_json, "
                    # a response that names no object id keeps the one known
                    "crm_object_id = coalesce(excluded.crm_object_id, crm_object_id), "
                    "run_id = excluded.run_id, synced_at = excluded.synced_at",
                    [self.redact(destination), run_id, utc_now()],
                )
                self.con.unregister("confirmed_batch")
            self.update_counts(run_id, counts)
            self.con.execute("commit")
        except Exception:
            self.con.execute("rollback")
            raise

    def record_errors(
        self,
        run_id: str,
        destination: str,
        errors: Iterable[RecordError],
        records: Mapping[str, Record],
    ) -> None:
        now = utc_now()
        rows = [
            [
                run_id,
                self.redact(destination),
                error.record_id,
                error.error_kind,
                error.http_status,
                self.redact(error.category) if error.category is not None else None,
                self.redact(error.message),
                properties_json(records[error.record_id]) if error.record_id in records else None,
                now,
            ]
            for error in errors
        ]
        if rows:
            self.con.executemany(
                "insert into crm_sync_rejections values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )

    def finish_run(
        self, run_id: str, counts: RunCounts, status: str, exit_code: int, summary: str
    ) -> None:
        self.update_counts(run_id, counts)
        self.con.execute(
            "update crm_sync_runs set status = ?, exit_code = ?, summary = ?, finished_at = ? "
            "where run_id = ?",
            [status, exit_code, self.redact(summary), utc_now(), run_id],
        )


RUN_COLUMNS = (
    "run_id, destination, status, rows_considered, planned_creates, planned_updates, "
    "rows_unchanged, rows_sent, rows_succeeded, rows_rejected, rows_undelivered, requests, "
    "retries, started_at, finished_at"
)


def read_audit(
    path: Path, runs: int, run_id: str | None
) -> tuple[list[tuple[Any, ...]], str | None, list[tuple[Any, ...]]]:
    """The newest `runs` runs, the run whose rejections are listed (`run_id`, else the
    newest) and those rejections; StateFileError when the file is no sync state."""
    with connect_state(path, read_only=True) as con:
        missing = {"crm_sync_runs", "crm_sync_rejections"} - set(table_columns(con))
        if missing:
            raise StateFileError(path, f"it has no table {', '.join(sorted(missing))}")
        rows = con.execute(
            f"select {RUN_COLUMNS} from crm_sync_runs order by started_at desc limit ?", [runs]
        ).fetchall()
        chosen = run_id or (str(rows[0][0]) if rows else None)
        rejections = con.execute(
            "select record_id, error_kind, http_status, category, message "
            "from crm_sync_rejections where run_id = ? order by record_id",
            [chosen],
        ).fetchall()
    return rows, chosen, rejections
