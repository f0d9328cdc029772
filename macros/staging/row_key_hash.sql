{% macro row_key_hash(expressions) %}
    {{ return(adapter.dispatch('row_key_hash', 'customer_health')(expressions)) }}
{% endmacro %}

{% macro default__row_key_hash(expressions) -%}
    {#- Spark (and Databricks): a 64-bit hash of the values. -#}
    xxhash64({{ expressions | join(', ') }})
{%- endmacro %}

{% macro duckdb__row_key_hash(expressions) -%}
    hash({{ expressions | join(', ') }})
{%- endmacro %}
