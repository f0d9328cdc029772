{% macro spark__persist_constraints(relation, model) %}
    {#- Contract constraints on Spark. Delta tables take them as table properties (dbt-spark's
        own behaviour). Parquet tables (the default file format) cannot hold a constraint, so
        each `not_null` constraint is checked on the table just written instead, and the model
        fails when a column holds nulls, as an engine-enforced constraint would. dbt-spark's
        own version reads a missing file_format as delta and fails on the ALTER. -#}
    {%- set contract_config = config.get('contract') -%}
    {%- if not contract_config.enforced -%}
        {{ return('') }}
    {%- endif -%}
    {%- if config.get('file_format', 'parquet') == 'delta' -%}
        {%- do alter_table_add_constraints(relation, model.constraints) -%}
        {%- do alter_column_set_constraints(relation, model.columns) -%}
        {{ return('') }}
    {%- endif -%}
    {%- set not_null_columns = [] -%}
    {%- for column_name, column in model.columns.items() -%}
        {%- for constraint in column.constraints if constraint.type == 'not_null' -%}
            {%- do not_null_columns.append(column_name) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if not_null_columns | length == 0 -%}
        {{ return('') }}
    {%- endif -%}
    {%- set check_sql -%}
        select
            {%- for column_name in not_null_columns %}
            count_if({{ column_name }} is null) as {{ column_name }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ relation }}
    {%- endset -%}
    {%- set counts = run_query(check_sql).rows[0] -%}
    {%- set violations = [] -%}
    {%- for column_name in not_null_columns -%}
        {%- if counts[loop.index0] > 0 -%}
            {%- do violations.append(column_name ~ ' (' ~ counts[loop.index0] ~ ' nulls)') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if violations -%}
        {{ exceptions.raise_compiler_error('Contract not_null constraint violated in ' ~ relation ~ ': ' ~ violations | join(', ')) }}
    {%- endif -%}
{% endmacro %}
