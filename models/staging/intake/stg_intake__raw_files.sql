{#- The intake's file inventory: the one staging model that reads every source, since it
    reconciles the files themselves (the quality mart counts raw rows here, not in the
    staged tables, which may keep rows a rewritten file no longer holds). -#}
{%- set tables = raw_tables() -%}

with raw_files as (

    {%- for source_name, table_name in tables %}
    select
        '{{ source_name }}' as source_name,
        '{{ table_name }}' as table_name,
        _source_file as source_file,
        max(_source_file_version) as source_file_version,
        count(*) as raw_rows
    from {{ source(source_name, table_name) }}
    group by _source_file
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

)

select * from raw_files
