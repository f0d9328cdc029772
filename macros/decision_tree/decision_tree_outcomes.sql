{% macro decision_tree_outcomes(signals, definition, bindings) %}
    {#- The decision tree compiled to SQL: a select of the columns of
        fct_account_health_decision_tree, one row per row of `signals`
        (int_decision_tree_signals). The tree is read from `definition`
        (int_decision_tree_definition) and the question -> signal bindings from `bindings`
        (seed decision_tree_bindings) at run time, then compiled to nested CASE expressions.
        Gives the same rows as the Python model on DuckDB. -#}
    {%- if not relations_are_built([signals, definition, bindings]) -%}
        {{ return('select 1 as not_compiled_before_the_tree_is_read') }}
    {%- endif -%}
    {%- set tree = load_decision_tree(definition) -%}
    {%- set dag = tree.dag -%}
    {%- set by_question = check_decision_tree_bindings(
        dag,
        run_query('select question_id, signal_column, missing_answer, missing_reason from ' ~ bindings),
        adapter.get_columns_in_relation(signals)
    ) -%}
    {%- set answer_columns = {} -%}
    {%- set gap_columns = {} -%}
    {%- for question_id in dag.question_ids -%}
        {%- do answer_columns.update({question_id: 'question_' ~ loop.index ~ '_answer'}) -%}
        {%- do gap_columns.update({question_id: 'question_' ~ loop.index ~ '_gap'}) -%}
    {%- endfor -%}
    {%- set string_type = dbt.type_string() %}
with signals as (

    select * from {{ signals }}

),

answers as (

    select
        account_id,
        as_of_date,
        {%- for question_id in dag.question_ids %}
        {%- set binding = by_question[question_id] %}
        {%- set signal = 'signals.' ~ binding.signal_column %}
        case
            when {{ signal }} is null then {{ sql_string_literal(binding.missing_answer) }}
            {%- if binding.is_boolean %}
            when {{ signal }} then 'yes'
            else 'no'
            {%- else %}
            else cast({{ signal }} as {{ string_type }})
            {%- endif %}
        end as {{ answer_columns[question_id] }},
        case
            when {{ signal }} is null then {{ sql_string_literal(binding.gap_text) }}
        end as {{ gap_columns[question_id] }}{{ ',' if not loop.last }}
        {%- endfor %}
    from signals

),

walked as (

    select
        account_id,
        as_of_date,
        {%- for output in ['outcome_id', 'decision_path', 'data_gaps', 'data_gap_count'] %}
        {{ decision_tree_case(dag, output, answer_columns, gap_columns) }} as {{ output }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from answers

),

final as (

    select
        account_id,
        outcome_id,
        {%- for column, property in [
            ('outcome_label', 'label'), ('outcome_code', 'code'), ('outcome_color', 'color'),
            ('decision_path', none), ('recommended_action', 'description')
        ] %}
        {%- if property is none %}
        decision_path,
        {%- else %}
        case outcome_id
            {%- for outcome_id in dag.outcome_ids %}
            {%- set outcome = dag.outcomes[outcome_id] %}
            {%- set value = outcome.label if property == 'label' else outcome.properties.get(property) %}
            when {{ sql_string_literal(outcome_id) }} then
            {%- if value is none %} cast(null as {{ string_type }})
            {%- else %} {{ sql_string_literal(value) }}
            {%- endif %}
            {%- endfor %}
        end as {{ column }},
        {%- endif %}
        {%- endfor %}
        data_gaps,
        cast({{ sql_string_literal(tree.version) }} as {{ string_type }}) as decision_tree_version,
        cast(data_gap_count as integer) as data_gap_count,
        data_gap_count > 0 as has_data_gap,
        as_of_date
    from walked

)

select * from final
{% endmacro %}
