"""CRM property definitions of the payload, with enumeration options from the warehouse.

`options_from` names where an enumeration's options come from, read from the same build
the payload comes from: the seeds `health_bands`, `health_trends`, `churn_risk_levels` and
`expansion_levels`,
or `decision_tree` (the outcomes of the DSL text stored in int_decision_tree_definition).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from customer_health.crm_sync.payload import (
    CrmProperty,
    PayloadError,
    PayloadModel,
    find_node,
    node_relation,
)
from customer_health.decision_tree.dsl import parse_dag

DEFAULT_GROUP = "customer_health"
DEFAULT_GROUP_LABEL = "Customer health"

# options_from -> (dbt node name, query of (value, label) in display order; {relation}).
OPTION_QUERIES = {
    "health_bands": (
        "health_bands",
        "select band_id, band_label from {relation} order by band_rank",
    ),
    "health_trends": (
        "health_trends",
        "select trend, trend_label from {relation} order by sort_order",
    ),
    "churn_risk_levels": (
        "churn_risk_levels",
        "select risk_level, risk_level_label from {relation} order by level_rank",
    ),
    "expansion_levels": (
        "expansion_levels",
        "select expansion_level, expansion_level_label from {relation} order by level_rank",
    ),
}
DECISION_TREE_MODEL = "int_decision_tree_definition"


def enumeration_options(
    manifest: Mapping[str, Any], con: duckdb.DuckDBPyConnection, source: str
) -> list[tuple[str, str]]:
    """(value, label) pairs of an enumeration, in display order."""
    if source == "decision_tree":
        relation = node_relation(find_node(manifest, DECISION_TREE_MODEL))
        row = con.execute(f"select dsl_text from {relation}").fetchone()
        if row is None:
            raise PayloadError(f"{relation} is empty: run `dbt build`")
        dag = parse_dag(row[0])
        return [(outcome.id, outcome.label) for outcome in dag.outcomes.values()]
    if source not in OPTION_QUERIES:
        raise PayloadError(
            f"unknown options_from {source!r}: use decision_tree or one of {sorted(OPTION_QUERIES)}"
        )
    name, query = OPTION_QUERIES[source]
    rows = con.execute(
        query.format(relation=node_relation(find_node(manifest, name, ("model", "seed"))))
    ).fetchall()
    return [(str(value), str(label)) for value, label in rows]


def definition(
    prop: CrmProperty, group: str, options: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """The HubSpot property definition (POST /crm/v3/properties/{object}/batch/create)."""
    body: dict[str, Any] = {
        "name": prop.name,
        "label": prop.label,
        "type": prop.type,
        "fieldType": prop.field_type,
        "groupName": group,
        "description": prop.description,
        "formField": False,
    }
    if prop.is_external_id:
        body["hasUniqueValue"] = True
    if options is not None:
        body["options"] = [
            {"label": label, "value": value, "displayOrder": index, "hidden": False}
            for index, (value, label) in enumerate(options)
        ]
    return body


def property_definitions(
    manifest: Mapping[str, Any], model: PayloadModel, db_path: Path, group: str, id_property: str
) -> list[dict[str, Any]]:
    """Definitions of every payload property. With `id_property` other than the external
    id column's name, that existing unique property is used and not defined here."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        definitions = []
        for prop in model.properties:
            if prop.is_external_id and prop.name != id_property:
                continue
            options = (
                enumeration_options(manifest, con, prop.options_from)
                if prop.type == "enumeration" and prop.options_from
                else None
            )
            definitions.append(definition(prop, group, options))
    return definitions


def option_values(definition_: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(str(item["value"]), str(item["label"])) for item in definition_.get("options") or []]
