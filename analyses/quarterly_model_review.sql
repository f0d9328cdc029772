-- Quarterly model review (seed 003): per segment and predictor (the score and each
-- sub-score), the churn AUC and riskiest-decile lift over every back-tested month-end next
-- to the last four month-ends, so a score that ranks churn less well than it did shows. See
-- docs/backtest.md, "The quarterly model review". Compile with `dbt compile` and run the SQL from
-- target/compiled/, or paste it into a BI tool.
with metrics as (

    select
        period,
        segment,
        predictor,
        observations,
        churned_observations,
        churn_auc,
        top_risk_lift,
        as_of_date
    from {{ ref('rpt_health_backtest_metrics') }}

),

latest_as_of_dates as (

    select as_of_date
    from (
        select
            as_of_date,
            row_number() over (order by as_of_date desc) as recency_rank
        from (
            select distinct as_of_date
            from metrics
            where as_of_date is not null
        ) as dates
    ) as ranked_dates
    where recency_rank <= 4

),

recent as (

    select
        metrics.segment,
        metrics.predictor,
        sum(metrics.observations) as recent_observations,
        sum(metrics.churned_observations) as recent_churned_observations,
        avg(metrics.churn_auc) as recent_mean_churn_auc,
        min(metrics.churn_auc) as recent_min_churn_auc,
        avg(metrics.top_risk_lift) as recent_mean_lift
    from metrics
    inner join latest_as_of_dates
        on metrics.as_of_date = latest_as_of_dates.as_of_date
    group by metrics.segment, metrics.predictor

),

final as (

    select
        overall.segment,
        overall.predictor,
        overall.observations,
        overall.churned_observations,
        overall.churn_auc,
        recent.recent_mean_churn_auc,
        recent.recent_min_churn_auc,
        recent.recent_mean_churn_auc - overall.churn_auc as recent_auc_change,
        overall.top_risk_lift,
        recent.recent_mean_lift,
        recent.recent_observations,
        recent.recent_churned_observations,
        overall.churn_auc < {{ var('backtest_auc_floor') }} as is_below_auc_floor
    from metrics as overall
    left join recent
        on overall.segment = recent.segment and overall.predictor = recent.predictor
    where overall.period = 'overall'

)

select * from final
order by segment, predictor
