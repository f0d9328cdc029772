{% test history_unchanged(model, day_column, boundary_days=7) %}
{#- An incremental table's days before its latest recompute window are as its builds left
    them: each recorded day (day_totals, written by the model's record_day_totals post-hook)
    still has its recorded row count, and the boundary_days days just before the window
    (every day when the table was built whole, or in a full check) still have their
    recorded checksum of the model's meta day_checksum_columns. A day with rows but no
    record after the first recorded day fails too. Reads only the day column of the older
    rows, so it stays cheap as the history grows. Fails with one row per differing day. -#}
{#- the whole table: it compares the days before the window; not on Spark, which records
    no day totals (its window marts are rebuilt whole) -#}
{{ config(meta={'whole_table': true}, enabled=(target.type != 'spark')) }}
{%- set model_name = model.identifier -%}
{%- set checksum_columns = day_checksum_columns(model_name) if execute else [day_column] -%}
{#- the latest recompute window's first day, a literal (none: every day is compared) -#}
{%- set start = test_window_start(model_name) -%}
{%- set start_day = date_literal(start) -%}
{%- set boundary_day = add_days(-boundary_days, start_day) if start_day else none %}

with recorded as (

    select
        day,
        row_count,
        row_checksum
    from (
        select
            day,
            row_count,
            row_checksum,
            row_number() over (partition by day order by recorded_at desc) as record_rank
        from {{ day_totals_relation() }}
        where model_name = '{{ model_name }}'
    ) as records
    where record_rank = 1

),

current_counts as (

    select
        {{ day_column }} as day,
        count(*) as row_count
    from {{ model }}
    group by {{ day_column }}

),

current_checksums as (

    select
        {{ day_column }} as day,
        {{ row_checksum(checksum_columns) }} as row_checksum
    from {{ model }}
    {%- if boundary_day %}
    where {{ day_column }} >= {{ boundary_day }}
    {%- endif %}
    group by {{ day_column }}

),

compared as (

    select
        coalesce(recorded.day, current_counts.day) as day,
        recorded.row_count as recorded_rows,
        coalesce(current_counts.row_count, 0) as current_rows,
        recorded.row_checksum as recorded_checksum,
        coalesce(current_checksums.row_checksum, 0) as current_checksum
    from recorded
    full outer join current_counts
        on recorded.day = current_counts.day
    left join current_checksums
        on coalesce(recorded.day, current_counts.day) = current_checksums.day

)

select
    day,
    recorded_rows,
    current_rows,
    recorded_checksum,
    current_checksum
from compared
where
    {{ ('day < ' ~ start_day) if start_day else '1 = 1' }}
    and (
        (recorded_rows is null and day > (select min(day) from recorded))
        or recorded_rows != current_rows
        or (
            {{ ('day >= ' ~ boundary_day) if boundary_day else '1 = 1' }}
            and recorded_checksum != current_checksum
        )
    )

{% endtest %}
