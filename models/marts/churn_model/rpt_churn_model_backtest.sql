{#- The churn model judged out of time, next to the rules score and the 30-day key-events
    baseline, on the same observations (every month-end the churn model scored): AUC and the
    lift of the riskiest share rank by the model's probability, the rules score and the key
    events themselves; the Brier score and calibration use each one's out-of-time
    probability (the comparisons are one-feature scorecards trained the same way). Per
    segment and for the portfolio (`all`). -#}
{%- set groups = ['segment_group', 'model_name'] -%}

with predictions as (

    select
        predictions.account_id,
        predictions.as_of_date,
        predictions.segment,
        predictions.model_name,
        predictions.churn_probability,
        -- lower = riskier, as the back-test macros rank
        -predictions.risk_value as predictor_value,
        predictions.is_churned
    from {{ ref('fct_churn_model_predictions') }} as predictions

),

-- each prediction in its own segment and in `all` (the back-test's grouping, all dates
-- pooled)
grouped as (

    select *
    from ({{ backtest_groups('predictions') }}) as grouped_predictions
    where period = 'overall'

),

value_counts as (

    select
        segment_group,
        model_name,
        predictor_value,
        count(*) as observations,
        sum(case when is_churned then 1 else 0 end) as churned_observations
    from grouped
    where predictor_value is not null
    group by segment_group, model_name, predictor_value

),

churn_auc as (

    {{ mann_whitney_auc(
        'value_counts', groups, 'predictor_value', 'observations', 'churned_observations'
    ) }}

),

top_risk as (

    {{ top_risk_counts(
        'grouped', groups, 'predictor_value', 'is_churned',
        ['as_of_date', 'account_id'], var('backtest_top_share')
    ) }}

),

probability_fit as (

    select
        segment_group,
        model_name,
        count(*) as observations,
        sum(case when is_churned then 1 else 0 end) as churned_observations,
        min(as_of_date) as first_as_of_date,
        max(as_of_date) as last_as_of_date,
        {{ exact_avg('churn_probability') }} as mean_predicted_probability,
        {{ exact_avg(
            '(churn_probability - case when is_churned then 1.0 else 0.0 end)'
            ~ ' * (churn_probability - case when is_churned then 1.0 else 0.0 end)'
        ) }} as brier_score
    from grouped
    group by segment_group, model_name

),

calibration as (

    select
        segment as segment_group,
        model_name,
        sum(observations * abs(calibration_gap)) / sum(observations) as calibration_error,
        max(abs(calibration_gap)) as max_decile_calibration_gap
    from {{ ref('rpt_churn_model_calibration') }}
    group by segment, model_name

),

final as (

    select
        probability_fit.segment_group as segment,
        probability_fit.model_name,
        cast(probability_fit.observations as bigint) as observations,
        cast(probability_fit.churned_observations as bigint) as churned_observations,
        cast(probability_fit.churned_observations as double)
        / probability_fit.observations as churn_rate,
        cast(churn_auc.auc as double) as churn_auc,
        cast({{ var('backtest_top_share') }} as double) as top_risk_share,
        cast(top_risk.top_risk_positives as double) / top_risk.top_risk_observations
        / nullif(
            cast(probability_fit.churned_observations as double) / probability_fit.observations, 0
        ) as top_risk_lift,
        cast(probability_fit.brier_score as double) as brier_score,
        cast(probability_fit.mean_predicted_probability as double) as mean_predicted_probability,
        cast(calibration.calibration_error as double) as calibration_error,
        cast(calibration.max_decile_calibration_gap as double) as max_decile_calibration_gap,
        probability_fit.churned_observations >= {{ var('backtest_min_churned') }}
            as has_enough_churned,
        probability_fit.first_as_of_date,
        probability_fit.last_as_of_date
    from probability_fit
    left join churn_auc
        on
            probability_fit.segment_group = churn_auc.segment_group
            and probability_fit.model_name = churn_auc.model_name
    left join top_risk
        on
            probability_fit.segment_group = top_risk.segment_group
            and probability_fit.model_name = top_risk.model_name
    left join calibration
        on
            probability_fit.segment_group = calibration.segment_group
            and probability_fit.model_name = calibration.model_name

)

-- monthly (tag `monthly`): the rows of the last build unless int_monthly_recompute says
-- this run recomputes them
{{ monthly_select('final') }}
