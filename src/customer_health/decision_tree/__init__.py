"""The Decision DAG DSL: parse and validate `.dag` files, and evaluate a tree over a table.

`fct_account_health_decision_tree` (a dbt Python model on DuckDB) imports this package;
`customer-health check-tree` validates a file from the command line.
"""

from customer_health.decision_tree.dsl import (
    DagError,
    DagIssue,
    DagPath,
    DecisionDag,
    load_dag,
    parse_dag,
)
from customer_health.decision_tree.evaluate import (
    Binding,
    BindingError,
    check_bindings,
    evaluate_table,
)

__all__ = [
    "Binding",
    "BindingError",
    "DagError",
    "DagIssue",
    "DagPath",
    "DecisionDag",
    "check_bindings",
    "evaluate_table",
    "load_dag",
    "parse_dag",
]
