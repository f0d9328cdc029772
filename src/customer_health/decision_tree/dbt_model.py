"""The body of the dbt Python model `fct_account_health_decision_tree` (DuckDB).

The model passes three relations: the tree definition (the DSL text read from the project's
`.dag` file by `int_decision_tree_definition`), the seed `decision_tree_bindings` and the
signal table `int_decision_tree_signals`. This module parses and checks them, evaluates the
tree over every row with Arrow compute, and returns a DuckDB relation with the mart's
columns and types.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from customer_health.decision_tree.dsl import parse_dag
from customer_health.decision_tree.evaluate import (
    KEY_COLUMNS,
    Binding,
    check_bindings,
    evaluate_table,
    outcome_table,
)

# The mart's columns, in order, as DuckDB expressions over the evaluated rows.
OUTPUT_COLUMNS = (
    ("account_id", "cast(evaluated.account_id as varchar)"),
    ("outcome_id", "cast(evaluated.outcome_id as varchar)"),
    ("outcome_label", "cast(outcomes.outcome_label as varchar)"),
    ("outcome_code", "cast(outcomes.outcome_code as varchar)"),
    ("outcome_color", "cast(outcomes.outcome_color as varchar)"),
    ("decision_path", "cast(evaluated.decision_path as varchar)"),
    ("recommended_action", "cast(outcomes.recommended_action as varchar)"),
    ("data_gaps", "cast(evaluated.data_gaps as varchar)"),
    ("decision_tree_version", "cast(evaluated.decision_tree_version as varchar)"),
    ("data_gap_count", "cast(evaluated.data_gap_count as integer)"),
    ("has_data_gap", "evaluated.data_gap_count > 0"),
    ("as_of_date", "cast(evaluated.as_of_date as date)"),
)


def read_bindings(bindings: duckdb.DuckDBPyRelation) -> list[Binding]:
    """The rows of the seed `decision_tree_bindings`."""
    rows = bindings.project("question_id, signal_column, missing_answer, missing_reason").fetchall()
    return [Binding(*(str(value) for value in row)) for row in rows]


def decision_tree_relation(
    session: duckdb.DuckDBPyConnection,
    definition: duckdb.DuckDBPyRelation,
    bindings: duckdb.DuckDBPyRelation,
    signals: duckdb.DuckDBPyRelation,
) -> duckdb.DuckDBPyRelation:
    """The mart: one row per row of `signals`, with the outcome, path and data gaps."""
    row = definition.project("dsl_path, dsl_text, decision_tree_version").fetchone()
    if row is None:
        raise ValueError("int_decision_tree_definition is empty: no decision tree was read")
    dsl_path, dsl_text, tree_version = row
    dag = parse_dag(dsl_text, source=dsl_path)

    by_question = check_bindings(dag, read_bindings(bindings), _arrow_types(signals))
    columns = [*KEY_COLUMNS, *sorted({b.signal_column for b in by_question.values()})]
    table = signals.project(", ".join(columns)).to_arrow_table()

    result = evaluate_table(dag, by_question, table)
    result = result.append_column(
        "decision_tree_version",
        pc.fill_null(pa.nulls(result.num_rows, pa.string()), str(tree_version)),
    )
    evaluated = session.from_arrow(result).set_alias("evaluated")
    outcomes = session.from_arrow(outcome_table(dag)).set_alias("outcomes")
    joined = evaluated.join(outcomes, "evaluated.outcome_id = outcomes.outcome_id", how="left")
    return joined.project(", ".join(f"{sql} as {name}" for name, sql in OUTPUT_COLUMNS))


def _arrow_types(relation: duckdb.DuckDBPyRelation) -> dict[str, pa.DataType]:
    """Column name -> Arrow type, read from an empty result."""
    schema = relation.limit(0).to_arrow_table().schema
    return dict(zip(schema.names, schema.types, strict=True))
