"""The raw-data contract: the tables, their columns in order, and what each column holds.

Read from the sources YAML files under ``models/staging`` (each column's ``meta``), the
same definition the dbt staging layer enforces, so the generator cannot drift from it.
Every column lands as text; ``kind`` says how the text is formatted in clean data and
which defects apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from customer_health import settings

ColumnKind = Literal["id", "text", "enum", "timestamp", "date", "int", "decimal", "bool"]

SOURCES_GLOB = "models/staging/*/_*__sources.yml"
# Sources in the order data flows into the score; any other source follows, by name.
SOURCE_ORDER = ("crm", "product", "support", "surveys", "billing", "outcomes")
# Contract types in the YAML -> the generator's column kinds.
KINDS: dict[str, ColumnKind] = {
    "id": "id",
    "text": "text",
    "enum": "enum",
    "timestamp": "timestamp",
    "date": "date",
    "integer": "int",
    "decimal": "decimal",
    "boolean": "bool",
}


@dataclass(frozen=True)
class Column:
    """One raw column.

    ``event`` marks a timestamp or date that records something that happened (it counts
    for ``_loaded_at`` and never lies after it); planned dates are not events.
    ``amount`` marks counts and amounts that must be non-negative.
    """

    name: str
    kind: ColumnKind
    required: bool
    event: bool = False
    amount: bool = False


@dataclass(frozen=True)
class Table:
    """One raw table of a source."""

    name: str
    source: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    referenced: bool = False
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _column(spec: dict[str, Any]) -> Column:
    meta = spec["config"]["meta"]
    return Column(
        name=spec["name"],
        kind=KINDS[meta["type"]],
        required=bool(meta.get("required", False)),
        event=bool(meta.get("event_time", False)),
        amount=bool(meta.get("non_negative", False)),
    )


def read_sources(project_dir: Path) -> list[dict[str, Any]]:
    """Every source of the project's sources YAML files, in ``SOURCE_ORDER``, then by name."""
    sources: list[dict[str, Any]] = []
    for path in sorted(project_dir.glob(SOURCES_GLOB)):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        sources.extend(document.get("sources") or [])

    def rank(source: dict[str, Any]) -> tuple[int, str]:
        name = str(source["name"])
        position = SOURCE_ORDER.index(name) if name in SOURCE_ORDER else len(SOURCE_ORDER)
        return position, name

    return sorted(sources, key=rank)


def load_tables(project_dir: Path | None = None) -> tuple[Table, ...]:
    """The contract's tables, in source order (``SOURCE_ORDER``) and declaration order.

    A table is ``referenced`` when its single-column key appears as a column of another
    table (accounts, contracts, users, invoices, features): defects must not remove its
    only valid copy.
    """
    project_dir = settings.project_dir() if project_dir is None else project_dir
    specs = [
        (source["name"], table)
        for source in read_sources(project_dir)
        for table in source["tables"]
    ]
    columns_by_table = {table["name"]: {c["name"] for c in table["columns"]} for _, table in specs}
    tables = []
    for source, table in specs:
        key = tuple(table["config"]["meta"]["primary_key"])
        referenced = len(key) == 1 and any(
            key[0] in columns for name, columns in columns_by_table.items() if name != table["name"]
        )
        enums = {
            c["name"]: tuple(c["config"]["meta"]["values"])
            for c in table["columns"]
            if c["config"]["meta"]["type"] == "enum"
        }
        tables.append(
            Table(
                name=table["name"],
                source=source,
                columns=tuple(_column(c) for c in table["columns"]),
                key=key,
                referenced=referenced,
                enums=enums,
            )
        )
    return tuple(tables)


TABLES: tuple[Table, ...] = load_tables()
TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}
TABLE_NAMES: tuple[str, ...] = tuple(t.name for t in TABLES)
LOADED_AT: Column = TABLES_BY_NAME["accounts"].column("_loaded_at")


def labels(table: str, column: str, codes: tuple[str, ...]) -> tuple[str, ...]:
    """The simulation's code -> label list for an enum column, checked against the contract.

    The simulation stores enums as integer codes whose meaning is fixed here (code 0 of a
    segment is SMB); the contract decides which labels are accepted. Import fails when the
    two disagree, so a contract change cannot silently shift what a code means.
    """
    accepted = TABLES_BY_NAME[table].enums[column]
    if set(codes) != set(accepted):
        raise ValueError(f"{table}.{column}: generator labels {codes} != contract {accepted}")
    return codes


SEGMENTS = labels("accounts", "segment", ("SMB", "Mid-Market", "Enterprise"))
CONTRACT_TYPES = labels("contracts", "contract_type", ("new", "renewal", "add_on"))
CONTRACT_STATUSES = labels("contracts", "status", ("active", "renewed", "churned"))
MILESTONES = labels(
    "onboarding_milestones",
    "milestone_name",
    ("kickoff", "technical_setup", "data_import", "admin_training", "first_value", "go_live"),
)
STAKEHOLDER_ROLES = labels(
    "stakeholder_events", "stakeholder_role", ("champion", "executive_sponsor")
)
STAKEHOLDER_EVENTS = labels("stakeholder_events", "event_type", ("added", "left"))
FEATURE_CATEGORIES = labels(
    "features", "feature_category", ("core", "advanced", "integration", "admin")
)
USER_ROLES = labels("users", "user_role", ("admin", "manager", "member", "viewer"))
SEVERITIES = labels("tickets", "severity", ("low", "normal", "high", "urgent"))
TICKET_STATUSES = labels("tickets", "status", ("open", "pending", "solved", "closed"))
SURVEY_TYPES = labels("survey_responses", "survey_type", ("nps", "csat"))
INVOICE_STATUSES = labels("invoices", "status", ("open", "paid", "void", "uncollectible"))
PAYMENT_STATUSES = labels("payments", "payment_status", ("succeeded", "failed"))
OUTCOME_TYPES = labels(
    "account_outcomes", "outcome_type", ("churned", "renewed", "contracted", "expanded")
)
ACTIVITY_OUTCOMES = labels(
    "csm_activities", "outcome", ("completed", "no_response", "customer_declined")
)
# Free text in the contract; the processor codes the generator writes.
FAILURE_REASONS: tuple[str, ...] = ("card_declined", "insufficient_funds", "expired_card")
