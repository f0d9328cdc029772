"""The decision tree of seeds/cs-customer-health.dag for every account and assessment day.

Parsing, binding checks and the vectorised evaluation live in customer_health.decision_tree
(the project's Python package, installed into the environment by `make setup`). Engines without
Python models build compiled_sql/fct_account_health_decision_tree.sql instead.
"""


def model(dbt, session):
    dbt.config(materialized="table")
    from customer_health.decision_tree.dbt_model import decision_tree_relation

    return decision_tree_relation(
        session,
        definition=dbt.ref("int_decision_tree_definition"),
        bindings=dbt.ref("decision_tree_bindings"),
        signals=dbt.ref("int_decision_tree_signals"),
    )
