-- Band and metric counts equal the observations of their period and segment.
with observations as (

    select
        account_id,
        segment,
        computed_health_score,
        is_churned,
        as_of_date
    from {{ ref('fct_health_backtest_observations') }}

),

grouped_observations as (

    {{ backtest_groups('observations') }}

),

expected as (

    select
        period,
        segment_group as segment,
        count(*) as observations,
        sum(case when is_churned then 1 else 0 end) as churned_observations,
        count(computed_health_score) as scored_observations,
        sum(
            case when is_churned and computed_health_score is not null then 1 else 0 end
        ) as scored_churned_observations
    from grouped_observations
    group by period, segment_group

),

band_totals as (

    select
        period,
        segment,
        assessment,
        sum(observations) as observations,
        sum(churned_observations) as churned_observations,
        sum(share_of_observations) as share_total
    from {{ ref('rpt_health_backtest_bands') }}
    group by period, segment, assessment

),

score_metrics as (

    select
        period,
        segment,
        observations,
        churned_observations
    from {{ ref('rpt_health_backtest_metrics') }}
    where predictor = 'health_score'

)

select
    expected.period,
    expected.segment,
    {{ dbt.concat(["'bands '", 'band_totals.assessment']) }} as report
from expected
inner join band_totals
    on expected.period = band_totals.period and expected.segment = band_totals.segment
where
    band_totals.observations != expected.observations
    or band_totals.churned_observations != expected.churned_observations
    or abs(band_totals.share_total - 1) > 0.000001
union all
select
    expected.period,
    expected.segment,
    'bands missing' as report
from expected
where not exists (
        select 1 as is_present
        from band_totals
        where band_totals.period = expected.period and band_totals.segment = expected.segment
    )
union all
select
    expected.period,
    expected.segment,
    'metrics health_score' as report
from expected
left join score_metrics
    on expected.period = score_metrics.period and expected.segment = score_metrics.segment
where
    expected.scored_observations > 0
    and (
        score_metrics.observations is null
        or score_metrics.observations != expected.scored_observations
        or score_metrics.churned_observations != expected.scored_churned_observations
    )
