{#- Calibration of the churn model and its two comparisons, out of time: the back-test's
    predictions cut into ten equal groups by predicted probability (decile 1 = lowest), per
    segment and for the portfolio (`all`), on the observations the churn model scored. A
    calibrated model's mean predicted probability matches the observed churn rate in every
    decile. -#}
with predictions as (

    select
        predictions.account_id,
        predictions.as_of_date,
        predictions.segment,
        predictions.model_name,
        predictions.churn_probability,
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

deciles as (

    select
        segment_group,
        model_name,
        churn_probability,
        is_churned,
        ntile(10) over (
            partition by segment_group, model_name
            order by churn_probability, account_id, as_of_date
        ) as decile
    from grouped

),

final as (

    select
        segment_group as segment,
        model_name,
        cast(decile as integer) as decile,
        cast(count(*) as bigint) as observations,
        cast(sum(case when is_churned then 1 else 0 end) as bigint) as churned_observations,
        cast(min(churn_probability) as double) as min_predicted_probability,
        cast(max(churn_probability) as double) as max_predicted_probability,
        cast({{ exact_avg('churn_probability') }} as double) as mean_predicted_probability,
        cast(avg(case when is_churned then 1.0 else 0.0 end) as double) as observed_churn_rate,
        cast(
            {{ exact_avg('churn_probability') }} - avg(case when is_churned then 1.0 else 0.0 end)
            as double
        ) as calibration_gap
    from deciles
    group by segment_group, model_name, decile

)

-- monthly (tag `monthly`): the rows of the last build unless int_monthly_recompute says
-- this run recomputes them
{{ monthly_select('final') }}
