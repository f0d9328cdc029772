{%- set tables = raw_tables() -%}

{#- Raw rows are counted in the files (stg_intake__raw_files), not in the
    staged tables, so rows a staged table kept but the files no longer hold show up as a
    broken reconciliation. -#}
with raw_counts as (

    {%- for source_name, table_name in tables %}
    select
        '{{ source_name }}' as source_name,
        '{{ table_name }}' as table_name,
        {%- set required = not execute or raw_table_contract(source_name, table_name).required %}
        {{ 'true' if required else 'false' }} as is_required,
        (
            select cast(coalesce(sum(raw_files.raw_rows), 0) as bigint) as file_rows
            from {{ ref('stg_intake__raw_files') }} as raw_files
            where
                raw_files.source_name = '{{ source_name }}'
                and raw_files.table_name = '{{ table_name }}'
        ) as raw_rows
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

staged_counts as (

    {%- for source_name, table_name in tables %}
    select
        '{{ source_name }}' as source_name,
        '{{ table_name }}' as table_name,
        count(*) as staged_rows,
        max(cast(loaded_at as date)) as last_loaded_date
    from {{ ref('stg_' ~ source_name ~ '__' ~ table_name) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

quarantined_counts as (

    {%- for source_name, table_name in tables %}
    select
        '{{ source_name }}' as source_name,
        '{{ table_name }}' as table_name,
        count(*) as quarantined_rows
    from {{ ref('quarantine_' ~ source_name ~ '__' ~ table_name) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

final as (

    select
        raw_counts.source_name,
        raw_counts.table_name,
        raw_counts.is_required,
        case
            when raw_counts.raw_rows > 0 then 'available'
            else 'not_available'
        end as availability,
        raw_counts.raw_rows,
        staged_counts.staged_rows,
        quarantined_counts.quarantined_rows,
        case
            when raw_counts.raw_rows = 0 then 0.0
            else cast(quarantined_counts.quarantined_rows as double) / raw_counts.raw_rows
        end as quarantined_share,
        staged_counts.last_loaded_date,
        {{ health_as_of_date() }} as as_of_date
    from raw_counts
    inner join staged_counts
        on
            raw_counts.source_name = staged_counts.source_name
            and raw_counts.table_name = staged_counts.table_name
    inner join quarantined_counts
        on
            raw_counts.source_name = quarantined_counts.source_name
            and raw_counts.table_name = quarantined_counts.table_name

)

select * from final
