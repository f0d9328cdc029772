"""Sync state and audit, in a DuckDB file of their own (default data/crm_sync_state.duckdb).

- crm_sync_state: per destination and record, the payload hash the destination confirmed.
  A row is written only after a successful response, so what is not confirmed is re-sent.
- crm_sync_runs: one row per run, with its counts.
- crm_sync_rejections: one row per record a run could not deliver, with the API's message.
- crm_sync_pending_creates: the task sync's journal of creates sent but not confirmed. A row
  is written before a create is sent and removed when HubSpot confirms or definitely refuses
  it; one left behind (an answer lost, a run killed) is looked up in HubSpot before the
  record is created again, so a lost answer never makes a second task.

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
from dataclasses import dataclass, fields
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
create table if not exists crm_sync_pending_creates (
    destination varchar not null,
    record_id varchar not null,
    run_id varchar not null,
    payload_hash varchar not null,
    properties_json varchar not null,
    sent_at timestamp not null,
    settled_at timestamp,
    primary key (destination, record_id)
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


@dataclass(frozen=True)
class PendingCreate:
    """A create sent at `sent_at` whose outcome is unknown; `settled_at` is when the sync
    stopped waiting for its answer (None: the run was killed while it waited)."""

    record_id: str
    run_id: str
    payload_hash: str
    properties: dict[str, str]
    sent_at: dt.datetime
    settled_at: dt.datetime | None


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


def has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return table in table_columns(con)


def read_objects(
    con: duckdb.DuckDBPyConnection, destination: str
) -> dict[str, tuple[str, str | None]]:
    """record id -> (confirmed payload hash, CRM object id)."""
    rows = con.execute(
        "select record_id, payload_hash, crm_object_id from crm_sync_state where destination = ?",
        [destination],
    ).fetchall()
    return {str(key): (str(value), None if obj is None else str(obj)) for key, value, obj in rows}


def read_pending(con: duckdb.DuckDBPyConnection, destination: str) -> dict[str, PendingCreate]:
    """record id -> its create of unknown outcome (empty where the journal does not exist)."""
    if not has_table(con, "crm_sync_pending_creates"):
        return {}
    rows = con.execute(
        "select record_id, run_id, payload_hash, properties_json, sent_at, settled_at "
        "from crm_sync_pending_creates where destination = ?",
        [destination],
    ).fetchall()
    return {
        str(key): PendingCreate(str(key), str(run), str(digest), json.loads(text), sent, settled)
        for key, run, digest, text, sent, settled in rows
    }


def read_task_state(
    path: Path, destination: str
) -> tuple[dict[str, tuple[str, str | None]], dict[str, PendingCreate]]:
    """Confirmed records and pending creates, read-only (empty without a state file)."""
    if not path.is_file():
        return {}, {}
    with connect_state(path, read_only=True) as con:
        if not has_table(con, "crm_sync_state"):
            return {}, read_pending(con, destination)
        return read_objects(con, destination), read_pending(con, destination)


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

    def confirmed_objects(self, destination: str) -> dict[str, tuple[str, str | None]]:
        return read_objects(self.con, self.redact(destination))

    def pending_creates(self, destination: str) -> dict[str, PendingCreate]:
        return read_pending(self.con, self.redact(destination))

    def journal_creates(
        self, run_id: str, destination: str, records: Iterable[Record], sent_at: dt.datetime
    ) -> None:
        """Write each record as a create of unknown outcome, before the create is sent."""
        records = list(records)
        if not records:
            return
        journal = pa.table(
            {
                "record_id": [record.record_id for record in records],
                "payload_hash": [record.payload_hash for record in records],
                "properties_json": [properties_json(record) for record in records],
            }
        )
        self.con.register("journal_batch", journal)
        try:
            self.con.execute(
                "insert or replace into crm_sync_pending_creates (destination, record_id, "
                "run_id, payload_hash, properties_json, sent_at, settled_at) "
                "select ?, record_id, ?, payload_hash, properties_json, ?, null "
                "from journal_batch",
                [self.redact(destination), run_id, sent_at],
            )
        finally:
            self.con.unregister("journal_batch")

    def settle_creates(
        self, destination: str, record_ids: Iterable[str], settled_at: dt.datetime
    ) -> None:
        """The sync stopped waiting for these creates' answers: their outcome stays unknown."""
        keys = list(record_ids)
        if keys:
            self.con.execute(
                "update crm_sync_pending_creates set settled_at = ? "
                "where destination = ? and list_contains(?, record_id)",
                [settled_at, self.redact(destination), keys],
            )

    def drop_pending(self, destination: str, record_ids: Iterable[str]) -> None:
        """These creates are known not to have been applied (refused, or never sent)."""
        keys = list(record_ids)
        if keys:
            self.con.execute(
                "delete from crm_sync_pending_creates "
                "where destination = ? and list_contains(?, record_id)",
                [self.redact(destination), keys],
            )

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
        # Only the columns of crm_sync_runs (a subclass may count more, for its report).
        values = {item.name: getattr(counts, item.name) for item in fields(RunCounts)}
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
        one transaction that also clears their pending creates."""
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
                self.drop_pending(destination, [record.record_id for record in records])
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
        errors = list(errors)
        if not errors:
            return
        # One statement through Arrow: DuckDB's executemany takes a round trip per row.
        rejected = pa.table(
            {
                "record_id": [error.record_id for error in errors],
                "error_kind": [error.error_kind for error in errors],
                "http_status": pa.array([error.http_status for error in errors], pa.int32()),
                "category": pa.array(
                    [
                        None if error.category is None else self.redact(error.category)
                        for error in errors
                    ],
                    pa.string(),
                ),
                "message": [self.redact(error.message) for error in errors],
                "properties_json": pa.array(
                    [
                        properties_json(records[error.record_id])
                        if error.record_id in records
                        else None
                        for error in errors
                    ],
                    pa.string(),
                ),
            }
        )
        self.con.register("rejected_batch", rejected)
        try:
            self.con.execute(
                "insert into crm_sync_rejections select ?, ?, record_id, error_kind, "
                "http_status, category, message, properties_json, ? from rejected_batch",
                [run_id, self.redact(destination), utc_now()],
            )
        finally:
            self.con.unregister("rejected_batch")

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
