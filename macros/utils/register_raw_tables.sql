{% macro register_raw_tables() %}
    {#- Run before every dbt command (on-run-start). On engines that read warehouse tables,
        (re)registers each raw table of the contract as an external table of `raw_schema`
        over its Parquet folder under HEALTH_RAW_DIR, so `source()` reads the same files on
        every engine. DuckDB reads the files directly and needs nothing. -#}
    {{ return(adapter.dispatch('register_raw_tables', 'customer_health')()) }}
{% endmacro %}

{% macro default__register_raw_tables() %}
    {{ return('') }}
{% endmacro %}

{% macro spark__register_raw_tables() %}
    {%- if not execute or env_var('HEALTH_REGISTER_RAW_TABLES', 'true') != 'true' -%}
        {{ return('') }}
    {%- endif -%}
    {%- set raw_dir = env_var('HEALTH_RAW_DIR', 'data/raw') -%}
    {%- if not (raw_dir.startswith('/') or '://' in raw_dir) -%}
        {%- set raw_dir = project_root() ~ '/' ~ raw_dir -%}
    {%- endif -%}
    {%- set statements = ['create database if not exists ' ~ var('raw_schema')] -%}
    {%- for source_name, table_name in raw_tables() -%}
        {%- set relation = var('raw_schema') ~ '.' ~ table_name -%}
        {%- do statements.append('drop table if exists ' ~ relation) -%}
        {#- An external table: dropping it never deletes the files. Folders whose files
            differ in columns are read with their union (DuckDB's union_by_name). -#}
        {%- do statements.append('create table ' ~ relation ~ ' using parquet options (path '
            ~ sql_string_literal(raw_dir ~ '/' ~ table_name) ~ ", mergeSchema 'true')") -%}
    {%- endfor -%}
    {%- for statement in statements -%}
        {%- do run_query(statement) -%}
    {%- endfor -%}
    {{ log('Registered ' ~ raw_tables() | length ~ ' raw tables from ' ~ raw_dir, info=true) }}
    {{ return('') }}
{% endmacro %}
