{#- The churn model's candidate features, one row per active account and score date: every
    scored signal as its raw value, the rules score and the account's context, all of them
    as known on the score date. A view: the churn model's observations read its month-ends,
    the daily churn risk the days it recomputes. -#}
with signals as (

    select
        account_id,
        score_date,
        {%- for signals in health_signals().values() %}
        {%- for signal in signals %}
        cast({{ signal }} as double) as {{ signal }},
        {%- endfor %}
        {%- endfor %}
        segment
    from {{ ref('int_category_scores_daily') }}

),

usage as (

    select
        account_id,
        score_date,
        key_events_30d,
        active_users_30d,
        user_days_30d
    from {{ ref('int_usage_signals_daily') }}

),

account_days as (

    select
        account_id,
        score_date,
        account_age_days,
        arr,
        licensed_seats
    from {{ ref('int_account_days') }}

),

scores as (

    select
        account_id,
        score_date,
        computed_health_score
    from {{ ref('int_health_scores_daily') }}

),

final as (

    select
        signals.account_id,
        signals.score_date,
        signals.segment,
        {%- for signals in health_signals().values() %}
        {%- for signal in signals %}
        signals.{{ signal }},
        {%- endfor %}
        {%- endfor %}
        cast(scores.computed_health_score as double) as health_score,
        cast(usage.key_events_30d as double) as key_events_30d,
        cast(usage.active_users_30d as double) as active_users_30d,
        cast(usage.user_days_30d as double) as user_days_30d,
        cast(account_days.account_age_days as double) as account_age_days,
        cast(account_days.arr as double) as arr,
        cast(account_days.licensed_seats as double) as licensed_seats,
        -- churn comes at a term end: whether one falls within the model's horizon
        case
            when signals.days_to_renewal is null then cast(null as double)
            when signals.days_to_renewal <= {{ var('backtest_horizon_days') }} then 1.0
            else 0.0
        end as renews_within_horizon
    from signals
    inner join usage
        on
            signals.account_id = usage.account_id
            and signals.score_date = usage.score_date
    inner join account_days
        on
            signals.account_id = account_days.account_id
            and signals.score_date = account_days.score_date
    inner join scores
        on
            signals.account_id = scores.account_id
            and signals.score_date = scores.score_date

)

select * from final
