{% macro raw_file_rows(tables) %}
    {#- A select of (source_name, table_name, source_file, source_file_version, raw_rows): one
        row per file of each raw table of `tables` ((source, table) pairs) that holds at
        least one row. -#}
    {{ return(adapter.dispatch('raw_file_rows', 'customer_health')(tables)) }}
{% endmacro %}

{% macro _raw_file_rows_counted(source_name, table_name) %}
    {#- Every row of the table's intake view, grouped by its file. -#}
    select
        '{{ source_name }}' as source_name,
        '{{ table_name }}' as table_name,
        _source_file as source_file,
        max(_source_file_version) as source_file_version,
        count(*) as raw_rows
    from {{ source(source_name, table_name) }}
    group by _source_file
{% endmacro %}

{% macro default__raw_file_rows(tables) %}
    {%- for source_name, table_name in tables %}
    {{ _raw_file_rows_counted(source_name, table_name) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{% endmacro %}

{% macro duckdb__raw_file_rows(tables) %}
    {#- A table read from Parquet files only: each file's row count from its footer
        (parquet_file_metadata) and its version from its size and modification time, as the
        intake view gives them (`_source_file`, `_source_file_version`). A table with a CSV
        file, or with no file, is counted from its intake view. When parsing (no files
        listed) every table takes that path, which records the sources as parents. -#}
    {%- set shapes = duckdb__raw_table_shapes() if execute else {} -%}
    {%- for source_name, table_name in tables %}
    {%- set shape = shapes.get(table_name, {}) -%}
    {%- set files = shape.get('parquet', []) if shape.get('csv', []) | length == 0 else [] -%}
    {%- if files | length == 0 %}
    {{ _raw_file_rows_counted(source_name, table_name) }}
    {%- else %}
    select
        '{{ source_name }}' as source_name,
        '{{ table_name }}' as table_name,
        regexp_replace(footers.file_name, '^.*/', '') as source_file,
        cast(files.size as {{ dbt.type_string() }}) || '@'
        || cast(files.last_modified as {{ dbt.type_string() }}) as source_file_version,
        footers.raw_rows
    from (
        select
            file_name,
            sum(num_rows) as raw_rows
        from parquet_file_metadata({{ _sql_list(files) }})
        group by file_name
    ) as footers
    inner join read_blob({{ _sql_list(files) }}) as files
        on footers.file_name = files.filename
    where footers.raw_rows > 0
    {%- endif %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{% endmacro %}
