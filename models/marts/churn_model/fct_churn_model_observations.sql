{#- The churn model's training rows: one per account and month-end as-of date D of the
    back-test whose horizon is observable, with every candidate feature as known on D and
    whether the account churned on D+1 .. D+horizon. -#}
with backtest as (

    select
        account_id,
        as_of_date,
        horizon_end_date,
        is_churned
    from {{ ref('fct_health_backtest_observations') }}

),

-- the month-ends only (the as-of dates of the back-test), so the view's tables are read
-- for those days
inputs as (

    select * from {{ ref('int_churn_model_inputs_daily') }}
    where score_date = {{ dbt.last_day('score_date', 'month') }}

),

final as (

    select
        backtest.account_id,
        backtest.as_of_date,
        inputs.segment,
        backtest.is_churned,
        {%- for feature in churn_model_candidate_features() %}
        inputs.{{ feature }},
        {%- endfor %}
        backtest.horizon_end_date
    from backtest
    inner join inputs
        on
            backtest.account_id = inputs.account_id
            and backtest.as_of_date = inputs.score_date

)

-- monthly (tag `monthly`): the rows of the last build unless int_monthly_recompute says
-- this run recomputes them
{{ monthly_select('final') }}
