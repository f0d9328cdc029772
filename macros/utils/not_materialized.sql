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

{% macro materialized_cte() %}
    {#- Placed between `as` and the body of a CTE: asks the engine to compute it once, as a
        boundary its optimizer plans on its own. The doubling steps of fct_csm_actions each
        read the step before once, yet DuckDB's optimizer, given them inlined, takes twice as
        long for every step; materialized, each step is planned alone. Spark has no such
        keyword and plans the inlined steps in linear time: nothing. -#}
    {{- return(adapter.dispatch('materialized_cte', 'customer_health')()) -}}
{%- endmacro %}

{% macro default__materialized_cte() -%}
{%- endmacro %}

{% macro duckdb__materialized_cte() -%}
    materialized
{%- endmacro %}
