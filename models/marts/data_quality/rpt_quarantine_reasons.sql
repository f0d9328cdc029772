with quarantined_rows as (
    {%- for source_name, table_name in raw_tables() %}
    select
        source_name,
        table_name,
        rejection_reason
    from {{ ref('quarantine_' ~ source_name ~ '__' ~ table_name) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

final as (

    select
        source_name,
        table_name,
        rejection_reason,
        count(*) as rejected_rows
    from quarantined_rows
    group by source_name, table_name, rejection_reason

)

select * from final
