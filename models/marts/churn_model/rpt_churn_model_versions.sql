{#- One row per month-end scored: the churn model version trained on that day, or why there
    is none. A version learns from the observations whose horizon had ended by its date and
    needs at least churn_model_min_churned churned ones among them (cold start: before
    that, the rules score stands alone). It applies from its date to the next version. -#}
with month_ends as (

    select
        score_date as version_date,
        as_of_date
    from {{ ref('int_score_dates') }}
    where score_date = {{ dbt.last_day('score_date', 'month') }}

),

observations as (

    select
        horizon_end_date,
        is_churned
    from {{ ref('fct_churn_model_observations') }}

),

known as (

    select
        month_ends.version_date,
        count(observations.horizon_end_date) as known_observations,
        coalesce(sum(case when observations.is_churned then 1 else 0 end), 0)
            as known_churned_observations
    from month_ends
    left join observations
        on month_ends.version_date >= observations.horizon_end_date
    group by month_ends.version_date

),

versions as (

    select
        model_version,
        max(case when feature_name = '(intercept)' then points end) as intercept,
        max(penalty_c) as penalty_c,
        max(training_observations) as training_observations,
        max(training_churned) as training_churned,
        count(
            distinct case when feature_name != '(intercept)' then feature_name end
        ) as feature_count,
        min(first_training_date) as first_training_date,
        max(last_training_date) as last_training_date
    from {{ ref('rpt_churn_model_scorecard') }}
    where model_name = 'churn_model'
    group by model_version

),

final as (

    select
        known.version_date,
        case
            when versions.model_version is not null then 'trained'
            when known.known_churned_observations < {{ var('churn_model_min_churned') }}
                then 'too_few_churns'
            else 'not_trained'
        end as version_status,
        case
            when versions.model_version is not null
                then
                    'trained on ' || cast(versions.training_observations as {{ dbt.type_string() }})
                    || ' observations, '
                    || cast(versions.training_churned as {{ dbt.type_string() }})
                    || ' churned'
            when known.known_churned_observations < {{ var('churn_model_min_churned') }}
                then
                    cast(known.known_churned_observations as {{ dbt.type_string() }})
                    || ' churned observations known, '
                    || cast({{ var('churn_model_min_churned') }} as {{ dbt.type_string() }})
                    || ' needed: the rules score stands alone'
            else
                'no scorecard for this day: engines without Python models need'
                || ' churn_model_scorecard_file'
        end as version_note,
        cast(known.known_observations as bigint) as known_observations,
        cast(known.known_churned_observations as bigint) as known_churned_observations,
        cast({{ var('churn_model_min_churned') }} as bigint) as min_churned_observations,
        cast(versions.feature_count as bigint) as feature_count,
        cast(versions.penalty_c as double) as penalty_c,
        cast(versions.intercept as double) as intercept,
        versions.first_training_date,
        versions.last_training_date
    from known
    left join versions
        on known.version_date = versions.model_version

)

-- monthly (tag `monthly`): the rows of the last build unless int_monthly_recompute says
-- this run recomputes them
{{ monthly_select('final') }}
