-- One observation per scored account and observable month-end, and no other rows.
{%- set horizon_days = var('backtest_horizon_days') %}

with score_dates as (

    select max(as_of_date) as data_as_of_date
    from {{ ref('int_score_dates') }}

),

month_end_scores as (

    select
        daily_health.account_id,
        daily_health.score_date
    from {{ ref('fct_account_health_daily') }} as daily_health
    cross join score_dates
    where
        daily_health.score_date = {{ dbt.last_day('daily_health.score_date', 'month') }}
        and {{ add_days(horizon_days, 'daily_health.score_date') }} <= score_dates.data_as_of_date

),

observations as (

    select
        account_id,
        as_of_date,
        count(*) as row_count
    from {{ ref('fct_health_backtest_observations') }}
    group by account_id, as_of_date

)

select
    coalesce(month_end_scores.account_id, observations.account_id) as account_id,
    coalesce(month_end_scores.score_date, observations.as_of_date) as as_of_date,
    observations.row_count
from month_end_scores
full outer join observations
    on
        month_end_scores.account_id = observations.account_id
        and month_end_scores.score_date = observations.as_of_date
where
    month_end_scores.account_id is null
    or observations.account_id is null
    or observations.row_count != 1
