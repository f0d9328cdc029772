{% macro read_parquet_file(path) %}
    {#- A Parquet file (or folder of files) as a relation to select from. -#}
    {{ return(adapter.dispatch('read_parquet_file', 'customer_health')(path)) }}
{% endmacro %}

{% macro default__read_parquet_file(path) %}
    read_parquet({{ sql_string_literal(path) }})
{%- endmacro %}

{% macro spark__read_parquet_file(path) %}
    parquet.`{{ path | replace('`', '') }}`
{%- endmacro %}
