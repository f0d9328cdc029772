{% macro read_text_file(path) %}
    {#- The whole content of a text file, read by the warehouse engine at run time (the
        file must be reachable from it). Fails with a clear error when it is missing. -#}
    {{ return(adapter.dispatch('read_text_file', 'customer_health')(path)) }}
{% endmacro %}

{% macro default__read_text_file(path) %}
    {{ exceptions.raise_compiler_error(
        'read_text_file: reading files is not implemented for adapter ' ~ target.type) }}
{% endmacro %}

{% macro duckdb__read_text_file(path) %}
    {%- set result = run_query('select content from read_text(' ~ sql_string_literal(path) ~ ')') -%}
    {%- if result.rows | length != 1 -%}
        {{ exceptions.raise_compiler_error('file not found: ' ~ path) }}
    {%- endif -%}
    {{ return(result.rows[0][0]) }}
{% endmacro %}

{% macro spark__read_text_file(path) %}
    {%- set view_name = 'text_file_' ~ local_md5(path)[:12] -%}
    {%- do run_query('create or replace temporary view ' ~ view_name
        ~ ' using text options (path ' ~ sql_string_literal(path) ~ ", wholetext 'true')") -%}
    {%- set result = run_query('select value from ' ~ view_name) -%}
    {%- if result.rows | length != 1 -%}
        {{ exceptions.raise_compiler_error('file not found or empty: ' ~ path) }}
    {%- endif -%}
    {{ return(result.rows[0][0]) }}
{% endmacro %}
