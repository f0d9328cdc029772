"""The payload: property definitions from the dbt manifest, rows from the warehouse."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

MODEL_NAME = "sync_crm_account_health"
PROPERTY_TYPES = frozenset({"string", "number", "enumeration", "date", "bool"})


class PayloadError(Exception):
    """The payload model or its rows cannot be sent as they are."""


@dataclass(frozen=True)
class CrmProperty:
    """One column of the payload model: a CRM property of the same name."""

    name: str
    label: str
    description: str
    type: str
    field_type: str
    options_from: str | None = None
    is_external_id: bool = False


@dataclass(frozen=True)
class PayloadModel:
    """The payload model as the manifest describes it."""

    unique_id: str
    schema: str
    alias: str
    properties: tuple[CrmProperty, ...]

    @property
    def external_id(self) -> CrmProperty:
        return next(prop for prop in self.properties if prop.is_external_id)

    @property
    def sent_properties(self) -> tuple[CrmProperty, ...]:
        """Properties sent in `properties` (the external id travels as the record's id)."""
        return tuple(prop for prop in self.properties if not prop.is_external_id)

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.alias}"


@dataclass(frozen=True)
class Record:
    """One row to send: its external id, its properties as sent, and their hash."""

    record_id: str
    properties: dict[str, str]
    payload_hash: str


def find_node(
    manifest: Mapping[str, Any], name: str, resource_types: tuple[str, ...] = ("model",)
) -> dict[str, Any]:
    """The one enabled manifest node of that name and resource type."""
    nodes = [
        node
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") in resource_types and node.get("name") == name
    ]
    if len(nodes) != 1:
        raise PayloadError(f"the dbt manifest has no single {'/'.join(resource_types)} {name}")
    node: dict[str, Any] = nodes[0]
    return node


def node_relation(node: Mapping[str, Any]) -> str:
    """schema.alias of a node, as a reader of the warehouse file names it."""
    return f"{node['schema']}.{node.get('alias') or node['name']}"


def load_payload_model(manifest: Mapping[str, Any]) -> PayloadModel:
    """The payload model's columns with their `meta.crm_property` definitions, validated."""
    node = find_node(manifest, MODEL_NAME)
    properties = []
    problems = []
    for name, column in node.get("columns", {}).items():
        spec = (column.get("meta") or {}).get("crm_property")
        if not isinstance(spec, dict):
            problems.append(f"column {name} has no meta.crm_property")
            continue
        prop_type = spec.get("type")
        if prop_type not in PROPERTY_TYPES:
            problems.append(
                f"column {name}: crm_property.type {prop_type!r} is not one of "
                f"{sorted(PROPERTY_TYPES)}"
            )
            continue
        if prop_type == "enumeration" and not spec.get("options_from"):
            problems.append(f"column {name}: an enumeration needs crm_property.options_from")
        properties.append(
            CrmProperty(
                name=name,
                label=str(spec.get("label") or name),
                description=" ".join(str(column.get("description") or "").split()),
                type=prop_type,
                field_type=str(spec.get("field_type") or "text"),
                options_from=spec.get("options_from"),
                is_external_id=bool(spec.get("is_external_id", False)),
            )
        )
    external_ids = [prop.name for prop in properties if prop.is_external_id]
    if len(external_ids) != 1:
        problems.append(f"exactly one column must be the external id, found {external_ids}")
    if problems:
        raise PayloadError(f"{MODEL_NAME} is not a valid payload: " + "; ".join(problems))
    return PayloadModel(
        unique_id=node["unique_id"],
        schema=node["schema"],
        alias=node.get("alias") or node["name"],
        properties=tuple(properties),
    )


def format_number(value: float | int | decimal.Decimal) -> str:
    """Shortest text of a number: 74.9, 100, -13.5 (no exponent for the sizes scores take)."""
    if isinstance(value, int):
        return str(value)
    number = float(value)
    if number.is_integer():
        return str(int(number))
    return repr(number)


def format_value(value: Any, prop_type: str) -> str:
    """A value as HubSpot property text. Null is the empty string, which clears a property."""
    if value is None:
        return ""
    if prop_type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | decimal.Decimal):
            raise PayloadError(f"number property got {type(value).__name__} {value!r}")
        return format_number(value)
    if prop_type == "date":
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise PayloadError(f"date property got {type(value).__name__} {value!r}")
        day: dt.date = value
        return day.isoformat()
    if prop_type == "bool":
        return "true" if value else "false"
    return str(value)


def payload_hash(properties: Mapping[str, str]) -> str:
    """SHA-256 of the properties as sent (key order does not matter)."""
    text = json.dumps(dict(properties), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_records(
    model: PayloadModel, columns: list[str], rows: list[tuple[Any, ...]]
) -> list[Record]:
    """Records from the model's rows; fails on missing or duplicate external ids."""
    expected = [prop.name for prop in model.properties]
    if columns != expected:
        raise PayloadError(
            f"{model.relation} has columns {columns}, the manifest declares {expected}: "
            "rebuild with `dbt build`"
        )
    position = {name: index for index, name in enumerate(columns)}
    id_index = position[model.external_id.name]
    records = []
    seen: set[str] = set()
    duplicates: set[str] = set()
    missing = 0
    for row in rows:
        record_id = row[id_index]
        if record_id is None or str(record_id) == "":
            missing += 1
            continue
        record_id = str(record_id)
        if record_id in seen:
            duplicates.add(record_id)
        seen.add(record_id)
        properties = {
            prop.name: format_value(row[position[prop.name]], prop.type)
            for prop in model.sent_properties
        }
        records.append(Record(record_id, properties, payload_hash(properties)))
    if missing or duplicates:
        raise PayloadError(
            f"{model.relation}: {missing} rows without {model.external_id.name}, duplicate ids "
            f"{sorted(duplicates)[:10]}; nothing was sent"
        )
    return sorted(records, key=lambda record: record.record_id)


def fetch_rows(db_path: Path, relation: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The columns and every row of `relation`, read through a read-only connection."""
    if not db_path.is_file():
        raise PayloadError(f"no warehouse at {db_path}: run `dbt build` first")
    try:
        con = duckdb.connect(str(db_path), read_only=True)
    except duckdb.IOException as exc:
        raise PayloadError(
            f"cannot open {db_path} read-only ({exc}); is a dbt build writing to it?"
        ) from exc
    try:
        cursor = con.execute(f"select * from {relation}")
        columns = [item[0] for item in cursor.description or []]
        rows = cursor.fetchall()
    except duckdb.CatalogException as exc:
        raise PayloadError(f"{relation} is not in {db_path}: run `dbt build`") from exc
    finally:
        con.close()
    return columns, rows


def read_records(db_path: Path, model: PayloadModel) -> list[Record]:
    """Every row of the payload model, read through a read-only connection."""
    columns, rows = fetch_rows(db_path, model.relation)
    return build_records(model, columns, rows)
