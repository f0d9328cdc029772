{% macro not_materialized() %}
    {#- Placed between `as` and the body of a CTE that is read more than once but is only a
        filter of a big table: asks the engine to inline it instead of writing its rows to a
        temporary result (DuckDB materializes such CTEs by default, spilling at scale).
        Engines that inline CTEs anyway get nothing. -#}
    {{- return(adapter.dispatch('not_materialized', 'customer_health')()) -}}
{%- endmacro %}

{% macro default__not_materialized() -%}
{%- endmacro %}

{% macro duckdb__not_materialized() -%}
    not materialized
{%- endmacro %}
