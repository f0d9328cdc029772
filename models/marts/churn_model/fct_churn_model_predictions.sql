{#- The back-test of the churn model: for every training observation (account and month-end
    D), the probability of churn within the horizon given by the version in force on D of
    the churn model and of its two comparisons fitted the same way on one feature each (the
    rules score, the 30-day key events). A version in force on D was trained only on
    observations whose horizon had ended by D, so each probability is out of time. -#}
with observations as (

    select * from {{ ref('fct_churn_model_observations') }}

),

scored_rows as (

    {{ churn_model_points(
        'observations', ['account_id', 'as_of_date'], 'as_of_date', churn_model_features(),
        ['churn_model', 'health_score', 'key_events_30d']
    ) }}

),

log_odds as (

    select
        scored_rows.account_id,
        scored_rows.as_of_date,
        scored_rows.model_name,
        scored_rows.model_version,
        {{ churn_model_log_odds('scored_rows', churn_model_features()) }} as churn_log_odds
    from scored_rows

),

-- the observations the churn model scored: every model is judged on the same ones
scored as (

    select
        account_id,
        as_of_date
    from log_odds
    where model_name = 'churn_model'

),

final as (

    select
        log_odds.account_id,
        log_odds.model_name,
        observations.segment,
        log_odds.model_version,
        cast(log_odds.churn_log_odds as double) as churn_log_odds,
        cast(1.0 / (1.0 + exp(-log_odds.churn_log_odds)) as double) as churn_probability,
        -- what the back-test ranks by: the model's probability; for the comparisons, the
        -- rules score and the key events themselves (higher = safer, so negated)
        cast(case log_odds.model_name
            when 'churn_model' then 1.0 / (1.0 + exp(-log_odds.churn_log_odds))
            when 'health_score' then -observations.health_score
            else -observations.key_events_30d
        end as double) as risk_value,
        observations.is_churned,
        log_odds.as_of_date
    from log_odds
    inner join scored
        on
            log_odds.account_id = scored.account_id
            and log_odds.as_of_date = scored.as_of_date
    inner join observations
        on
            log_odds.account_id = observations.account_id
            and log_odds.as_of_date = observations.as_of_date

)

-- monthly (tag `monthly`): the rows of the last build unless int_monthly_recompute says
-- this run recomputes them
{{ monthly_select('final') }}
