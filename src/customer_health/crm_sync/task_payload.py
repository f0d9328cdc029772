"""The task payload: open and recently closed CSM actions, as HubSpot task properties.

The dbt model `sync_crm_tasks` holds one row per action that is open or closed within the
last `crm_task_closed_days` days. Its columns are HubSpot's own task properties plus the keys
the sync needs; `TASK_PROPERTIES` is the allow-list of what is sent, nothing else leaves the
warehouse. `health_action_id` is the task's key in the sync and `health_account_id` names
the company (the company sync's idProperty) the task is associated with.

Each body ends with a reference line, `[health action <id>]`: it lets the sync recognise a
task it created when HubSpot's answer to the create was lost (see task_sync).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from customer_health.crm_sync.payload import PayloadError, Record, fetch_rows, payload_hash

MODEL_NAME = "sync_crm_tasks"
ACTION_ID = "health_action_id"
ACCOUNT_ID = "health_account_id"
# HubSpot task properties sent, in this order (hubspot_owner_id only when mapped).
TASK_PROPERTIES = (
    "hs_task_subject",
    "hs_task_body",
    "hs_task_status",
    "hs_task_priority",
    "hs_task_type",
    "hs_timestamp",
    "hubspot_owner_id",
)
# The model's contract: every column the sync reads.
CONTRACT_COLUMNS = (ACTION_ID, ACCOUNT_ID, *TASK_PROPERTIES, "action_status", "health_as_of_date")
OWNER = "hubspot_owner_id"
COMPLETED = "COMPLETED"
# An action id fits in the reference line: no white space, no closing bracket.
ACTION_ID_TEXT = re.compile(r"[^\]\s]+")
MARKER = re.compile(r"\[health action ([^\]\s]+)\]")


def marker(action_id: str) -> str:
    """The reference line that identifies the action's task in HubSpot."""
    return f"[health action {action_id}]"


def marked_body(body: str, action_id: str) -> str:
    """The body as sent: the model's text, then the reference line."""
    return f"{body}\n\n{marker(action_id)}" if body else marker(action_id)


def marked_actions(body: Any) -> set[str]:
    """The action ids whose reference line a task body holds (also HTML-escaped, as a
    rich-text body may come back)."""
    if not isinstance(body, str):
        return set()
    return {html.unescape(found) for found in MARKER.findall(html.unescape(body))}


@dataclass(frozen=True)
class TaskRecord:
    """One action: its record (key, properties as sent and their hash) and its company."""

    record: Record
    account_id: str
    action_status: str

    @property
    def action_id(self) -> str:
        return self.record.record_id

    @property
    def properties(self) -> dict[str, str]:
        return self.record.properties

    @property
    def is_closed(self) -> bool:
        """Closed in the warehouse (done, expired or superseded): the task is COMPLETED."""
        return self.properties.get("hs_task_status") == COMPLETED


def format_timestamp(value: Any) -> str:
    """A due date as HubSpot's UTC timestamp text (`2024-07-15T00:00:00.000Z`)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        moment: dt.datetime = value
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
        return moment.isoformat(timespec="milliseconds") + "Z"
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time()).isoformat(timespec="milliseconds") + "Z"
    raise PayloadError(f"hs_timestamp must be a timestamp, got {type(value).__name__} {value!r}")


def task_properties(action_id: str, values: dict[str, Any]) -> dict[str, str]:
    """The properties sent for one row. A null owner is left out (HubSpot keeps the task's
    owner); any other null is sent as the empty string."""
    properties: dict[str, str] = {}
    for name in TASK_PROPERTIES:
        value = values[name]
        if name == OWNER and value in (None, ""):
            continue
        if name == "hs_timestamp":
            properties[name] = format_timestamp(value)
        elif name == "hs_task_body":
            properties[name] = marked_body("" if value is None else str(value), action_id)
        else:
            properties[name] = "" if value is None else str(value)
    return properties


def build_task_records(
    relation: str, columns: list[str], rows: Iterable[tuple[Any, ...]]
) -> list[TaskRecord]:
    """Task records from the model's rows, sorted by action id; refuses a payload that lacks
    a contract column, or has rows without an action or account id or with duplicate ids."""
    missing_columns = [name for name in CONTRACT_COLUMNS if name not in columns]
    if missing_columns:
        raise PayloadError(
            f"{relation} lacks the columns {missing_columns} of its contract: rebuild with "
            "`dbt build`"
        )
    position = {name: index for index, name in enumerate(columns)}
    records: list[TaskRecord] = []
    seen: set[str] = set()
    duplicates: set[str] = set()
    missing = 0
    for row in rows:
        values = {name: row[position[name]] for name in CONTRACT_COLUMNS}
        action_id, account_id = values[ACTION_ID], values[ACCOUNT_ID]
        if action_id in (None, "") or account_id in (None, ""):
            missing += 1
            continue
        key = str(action_id)
        if key in seen:
            duplicates.add(key)
        seen.add(key)
        if not ACTION_ID_TEXT.fullmatch(key):
            raise PayloadError(f"{relation}: action id {key!r} holds a space or a bracket")
        properties = task_properties(key, values)
        records.append(
            TaskRecord(
                Record(key, properties, payload_hash(properties)),
                str(account_id),
                "" if values["action_status"] is None else str(values["action_status"]),
            )
        )
    if missing or duplicates:
        raise PayloadError(
            f"{relation}: {missing} rows without {ACTION_ID} or {ACCOUNT_ID}, duplicate ids "
            f"{sorted(duplicates)[:10]}; nothing was sent"
        )
    return sorted(records, key=lambda task: task.action_id)


def read_task_records(db_path: Path, relation: str) -> list[TaskRecord]:
    """Every row of the task model, read through a read-only connection."""
    columns, rows = fetch_rows(db_path, relation)
    return build_task_records(relation, columns, rows)
