{#- One row per account and month-end as-of date D whose horizon is observable: the
    point-in-time score, band, sub-scores and tree outcome of D, and what happened on days
    D+1 .. D+horizon. -#}
{%- set horizon_days = var('backtest_horizon_days') -%}

with daily_health as (

    select
        account_id,
        score_date,
        segment,
        lifecycle_stage,
        weight_set,
        config_version,
        computed_health_band,
        computed_health_score,
        score_coverage,
        {%- for category in health_categories() %}
        {{ category }}_score,
        {%- endfor %}
        days_to_renewal
    from {{ ref('fct_account_health_daily') }}
    where score_date = {{ dbt.last_day('score_date', 'month') }}

),

score_dates as (

    select max(as_of_date) as data_as_of_date
    from {{ ref('int_score_dates') }}

),

account_days as (

    select
        account_id,
        score_date,
        arr
    from {{ ref('int_account_days') }}

),

-- the baseline the score must beat: the account's raw activity of the last 30 days
activity as (

    select
        account_id,
        score_date,
        active_users_30d,
        key_events_30d
    from {{ ref('int_usage_signals_daily') }}
    where score_date = {{ dbt.last_day('score_date', 'month') }}

),

tree_outcomes as (

    select
        account_id,
        as_of_date,
        outcome_id
    from {{ ref('fct_account_health_decision_tree') }}

),

outcomes as (

    select
        account_id,
        outcome_type,
        arr_change,
        outcome_date
    from {{ ref('stg_outcomes__account_outcomes') }}
    where outcome_type in ('churned', 'contracted', 'expanded')

),

-- month-ends whose whole horizon lies on or before the data's as-of date
observable_days as (

    select
        daily_health.*,
        {{ add_days(horizon_days, 'daily_health.score_date') }} as horizon_end_date
    from daily_health
    cross join score_dates
    where {{ add_days(horizon_days, 'daily_health.score_date') }} <= score_dates.data_as_of_date

),

horizon_outcomes as (

    select
        observable_days.account_id,
        observable_days.score_date,
        min(
            case when outcomes.outcome_type = 'churned' then outcomes.outcome_date end
        ) as churn_date,
        min(
            case when outcomes.outcome_type = 'contracted' then outcomes.outcome_date end
        ) as contraction_date,
        min(
            case when outcomes.outcome_type = 'expanded' then outcomes.outcome_date end
        ) as expansion_date,
        sum(
            case when outcomes.outcome_type = 'expanded' then outcomes.arr_change else 0 end
        ) as expanded_arr,
        sum(
            case when outcomes.outcome_type = 'churned' then -outcomes.arr_change else 0 end
        ) as churned_arr,
        sum(
            case when outcomes.outcome_type = 'contracted' then -outcomes.arr_change else 0 end
        ) as contracted_arr
    from observable_days
    inner join outcomes
        on
            observable_days.account_id = outcomes.account_id
            and observable_days.score_date < outcomes.outcome_date
            and observable_days.horizon_end_date >= outcomes.outcome_date
    group by observable_days.account_id, observable_days.score_date

),

final as (

    select
        observable_days.account_id,
        observable_days.segment,
        observable_days.lifecycle_stage,
        observable_days.weight_set,
        observable_days.config_version,
        observable_days.computed_health_band,
        tree_outcomes.outcome_id as tree_outcome_id,
        observable_days.computed_health_score,
        observable_days.score_coverage,
        {%- for category in health_categories() %}
        observable_days.{{ category }}_score,
        {%- endfor %}
        observable_days.days_to_renewal,
        cast(coalesce(activity.active_users_30d, 0) as bigint) as active_users_30d,
        cast(coalesce(activity.key_events_30d, 0) as bigint) as key_events_30d,
        cast({{ horizon_days }} as integer) as horizon_days,
        cast(account_days.arr as double) as arr,
        cast(coalesce(horizon_outcomes.churned_arr, 0) as double) as churned_arr,
        cast(coalesce(horizon_outcomes.contracted_arr, 0) as double) as contracted_arr,
        cast(coalesce(horizon_outcomes.expanded_arr, 0) as double) as expanded_arr,
        {%- set days_to_churn = dbt.datediff(
            'observable_days.score_date', 'horizon_outcomes.churn_date', 'day'
        ) %}
        cast({{ days_to_churn }} as integer) as days_to_churn,
        horizon_outcomes.churn_date is not null as is_churned,
        horizon_outcomes.contraction_date is not null as is_contracted,
        horizon_outcomes.expansion_date is not null as is_expanded,
        observable_days.score_date as as_of_date,
        observable_days.horizon_end_date,
        horizon_outcomes.churn_date,
        horizon_outcomes.contraction_date,
        horizon_outcomes.expansion_date
    from observable_days
    inner join account_days
        on
            observable_days.account_id = account_days.account_id
            and observable_days.score_date = account_days.score_date
    left join tree_outcomes
        on
            observable_days.account_id = tree_outcomes.account_id
            and observable_days.score_date = tree_outcomes.as_of_date
    left join horizon_outcomes
        on
            observable_days.account_id = horizon_outcomes.account_id
            and observable_days.score_date = horizon_outcomes.score_date
    left join activity
        on
            observable_days.account_id = activity.account_id
            and observable_days.score_date = activity.score_date

)

-- monthly (tag `monthly`): the rows of the last build unless int_monthly_recompute says
-- this run recomputes them
{{ monthly_select('final') }}
