-- Reconciliation: one fct_account_health_daily row for every active account-day, no other rows.
-- A daily run reconciles the days fct_account_health_daily recomputed (its test window, on
-- both sides); its older days are proven untouched by history_unchanged. A full check, and
-- Spark, reconcile every day.
{%- set window = test_window('fct_account_health_daily', 'score_date')
    if target.type != 'spark' and flags.WHICH in ('test', 'build') else '' %}

with active_days as (

    select
        account_id,
        score_date
    from {{ ref('int_account_days') }}
    where is_active{{ ' and ' ~ window if window }}

),

scored_days as (

    select
        account_id,
        score_date,
        count(*) as row_count
    from {{ ref('fct_account_health_daily') }}
    {%- if window %}
    where {{ window }}
    {%- endif %}
    group by account_id, score_date

)

select
    coalesce(active_days.account_id, scored_days.account_id) as account_id,
    coalesce(active_days.score_date, scored_days.score_date) as score_date,
    scored_days.row_count
from active_days
full outer join scored_days
    on
        active_days.account_id = scored_days.account_id
        and active_days.score_date = scored_days.score_date
where active_days.account_id is null or scored_days.account_id is null or scored_days.row_count != 1
