"""The decision tree of seeds/cs-customer-health.dag for every account and assessment day.

Parsing, binding checks and the vectorised evaluation live in customer_health.decision_tree
(the project's Python package, installed into the environment by `make setup`). Engines without
Python models build compiled_sql/fct_account_health_decision_tree.sql instead. Incremental
(dbt_project.yml): a run evaluates only the signal rows it has no row for.
"""


def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="append")
    from customer_health.decision_tree.dbt_model import decision_tree_relation

    signals = dbt.ref("int_decision_tree_signals")
    if dbt.is_incremental:
        # The pre-hook (dbt_project.yml) deleted the rows the signals recomputed: evaluate
        # the signal rows that have no row here.
        kept = session.sql(f"select account_id, as_of_date from {dbt.this}")
        signals = signals.set_alias("signals").join(
            kept.set_alias("kept"),
            "signals.account_id = kept.account_id and signals.as_of_date = kept.as_of_date",
            how="anti",
        )
    return decision_tree_relation(
        session,
        definition=dbt.ref("int_decision_tree_definition"),
        bindings=dbt.ref("decision_tree_bindings"),
        signals=signals,
    )
