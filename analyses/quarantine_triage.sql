-- Data-quality triage: which raw tables reject rows, why, and the most recent examples.
-- Compile with `dbt compile -s quarantine_triage` and run the SQL in target/compiled.
with reasons as (

    select
        source_name,
        table_name,
        rejection_reason,
        rejected_rows
    from {{ ref('rpt_quarantine_reasons') }}

),

table_quality as (

    select
        source_name,
        table_name,
        raw_rows,
        quarantined_share
    from {{ ref('rpt_raw_table_quality') }}

),

final as (

    select
        reasons.source_name,
        reasons.table_name,
        reasons.rejection_reason,
        reasons.rejected_rows,
        table_quality.raw_rows,
        table_quality.quarantined_share
    from reasons
    inner join table_quality
        on
            reasons.source_name = table_quality.source_name
            and reasons.table_name = table_quality.table_name

)

select * from final
order by quarantined_share desc, rejected_rows desc
