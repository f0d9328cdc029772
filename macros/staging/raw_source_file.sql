{% macro raw_source_file(relation_alias) %}
    {{ return(adapter.dispatch('raw_source_file', 'customer_health')(relation_alias)) }}
{% endmacro %}

{% macro default__raw_source_file(relation_alias) -%}
    {#- Spark (and Databricks): the name of the file a row of a file-backed table was read from. -#}
    regexp_replace(input_file_name(), '^.*/', '')
{%- endmacro %}

{% macro duckdb__raw_source_file(relation_alias) -%}
    {#- read_parquet's virtual `filename` column, without its folder. -#}
    regexp_replace({{ relation_alias }}.filename, '^.*/', '')
{%- endmacro %}
