{#- The decision tree compiled from its DSL file to nested CASE expressions: the model
    engines without Python models build in place of fct_account_health_decision_tree.py
    (and DuckDB with HEALTH_DECISION_TREE_VARIANT=sql). Same columns, same rows. -#}
{{ config(
    enabled=not (
        target.type == 'duckdb'
        and env_var('HEALTH_DECISION_TREE_VARIANT', 'python') == 'python'
    ),
    contract={'enforced': true},
) }}

{{ decision_tree_outcomes(
    ref('int_decision_tree_signals'),
    ref('int_decision_tree_definition'),
    ref('decision_tree_bindings'),
) }}
