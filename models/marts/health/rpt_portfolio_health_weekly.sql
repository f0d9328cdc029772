{#- Replaced by window (config in dbt_project.yml): an incremental run recomputes the weeks
    from the one holding the first day fct_account_health_daily recomputed. -#}
{%- set window_start = upstream_window_start('fct_account_health_daily', truncate_to_week=true) -%}

with daily_health as (

    select
        account_id,
        score_date,
        segment,
        health_band
    from {{ ref('fct_account_health_daily') }}
    where {{ window_filter('score_date', window_start) }}

),

account_days as (

    select
        account_id,
        score_date,
        arr
    from {{ ref('int_account_days') }}
    where {{ window_filter('score_date', window_start) }}

),

bands as (

    select
        band_id,
        band_rank
    from {{ ref('health_bands') }}

),

-- each account's band on its last scored day of the week (Monday to Sunday)
weekly_snapshots as (

    select
        daily_health.account_id,
        daily_health.segment,
        daily_health.health_band,
        account_days.arr,
        cast({{ dbt.date_trunc('week', 'daily_health.score_date') }} as date) as week_start_date,
        daily_health.score_date
    from daily_health
    inner join account_days
        on
            daily_health.account_id = account_days.account_id
            and daily_health.score_date = account_days.score_date
    qualify
        row_number() over (
            partition by
                daily_health.account_id,
                {{ dbt.date_trunc('week', 'daily_health.score_date') }}
            order by daily_health.score_date desc
        ) = 1

),

band_counts as (

    select
        week_start_date,
        segment,
        health_band,
        count(*) as account_count,
        sum(arr) as arr,
        max(score_date) as snapshot_date
    from weekly_snapshots
    group by week_start_date, segment, health_band

),

segment_totals as (

    select
        band_counts.*,
        sum(band_counts.account_count) over (
            partition by band_counts.week_start_date, band_counts.segment
        ) as segment_accounts,
        sum(band_counts.arr) over (
            partition by band_counts.week_start_date, band_counts.segment
        ) as segment_arr
    from band_counts

),

final as (

    select
        segment_totals.week_start_date,
        segment_totals.segment,
        segment_totals.health_band,
        cast(bands.band_rank as integer) as band_rank,
        segment_totals.account_count,
        cast(round(segment_totals.arr, 2) as double) as arr,
        cast(segment_totals.account_count as double)
        / segment_totals.segment_accounts as share_of_accounts,
        cast(segment_totals.arr / nullif(segment_totals.segment_arr, 0) as double) as share_of_arr,
        segment_totals.snapshot_date
    from segment_totals
    inner join bands
        on segment_totals.health_band = bands.band_id

)

select * from final
