-- The tree compiled to SQL (macro decision_tree_outcomes) gives the Python model's rows.
{{ config(enabled=(
    target.type == 'duckdb'
    and env_var('HEALTH_DECISION_TREE_VARIANT', 'python') == 'python'
)) }}

with compiled as (

    {{ decision_tree_outcomes(
        ref('int_decision_tree_signals'),
        ref('int_decision_tree_definition'),
        ref('decision_tree_bindings'),
    ) }}

),

python_model as (

    select * from {{ ref('fct_account_health_decision_tree') }}

),

final as (

    select
        coalesce(compiled.account_id, python_model.account_id) as account_id,
        coalesce(compiled.as_of_date, python_model.as_of_date) as as_of_date,
        compiled.decision_path as compiled_path,
        python_model.decision_path as python_path
    from compiled
    full outer join python_model
        on
            compiled.account_id = python_model.account_id
            and compiled.as_of_date = python_model.as_of_date
    where
        compiled.account_id is null
        or python_model.account_id is null
        {%- for column in [
            'outcome_id', 'outcome_label', 'outcome_code', 'outcome_color', 'decision_path',
            'recommended_action', 'data_gaps', 'decision_tree_version', 'data_gap_count',
            'has_data_gap',
        ] %}
        or compiled.{{ column }} is distinct from python_model.{{ column }}
        {%- endfor %}

)

select * from final
