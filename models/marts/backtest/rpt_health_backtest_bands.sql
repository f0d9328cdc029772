{#- Churn and contraction by score band and by tree outcome: per as-of date and overall,
    per segment and for the whole portfolio. -#}
with observations as (

    select
        account_id,
        segment,
        computed_health_band,
        tree_outcome_id,
        arr,
        churned_arr,
        contracted_arr,
        is_churned,
        is_contracted,
        as_of_date
    from {{ ref('fct_health_backtest_observations') }}

),

bands as (

    select
        band_id,
        band_label,
        band_color,
        band_rank,
        decision_tree_outcome_id
    from {{ ref('health_bands') }}

),

assessments as (

    select assessment
    from {{ literal_rows('assessment_names', 'assessment', ['score_band', 'tree_outcome']) }}

),

grouped_observations as (

    {{ backtest_groups('observations') }}

),

assessed as (

    select
        grouped_observations.period,
        grouped_observations.segment_group,
        assessments.assessment,
        case
            when assessments.assessment = 'score_band'
                then grouped_observations.computed_health_band
            else grouped_observations.tree_outcome_id
        end as assessment_value,
        grouped_observations.arr,
        grouped_observations.churned_arr,
        grouped_observations.contracted_arr,
        grouped_observations.is_churned,
        grouped_observations.is_contracted,
        grouped_observations.period_as_of_date
    from grouped_observations
    cross join assessments

),

assessment_counts as (

    select
        period,
        segment_group,
        assessment,
        assessment_value,
        cast(count(*) as bigint) as observations,
        cast(sum(case when is_churned then 1 else 0 end) as bigint) as churned_observations,
        cast(sum(case when is_contracted then 1 else 0 end) as bigint) as contracted_observations,
        sum(arr) as arr,
        sum(churned_arr) as churned_arr,
        sum(contracted_arr) as contracted_arr,
        max(period_as_of_date) as as_of_date
    from assessed
    group by period, segment_group, assessment, assessment_value

),

group_totals as (

    select
        *,
        cast(sum(observations) over (
            partition by period, segment_group, assessment
        ) as bigint) as group_observations,
        cast(sum(churned_observations) over (
            partition by period, segment_group, assessment
        ) as bigint) as group_churned_observations
    from assessment_counts

),

final as (

    select
        group_totals.period,
        group_totals.segment_group as segment,
        group_totals.assessment,
        group_totals.assessment_value,
        coalesce(score_bands.band_label, tree_bands.band_label) as assessment_label,
        coalesce(score_bands.band_color, tree_bands.band_color) as assessment_color,
        cast(coalesce(score_bands.band_rank, tree_bands.band_rank) as integer) as band_rank,
        group_totals.observations,
        group_totals.group_observations,
        group_totals.group_churned_observations,
        cast(group_totals.observations as double)
        / group_totals.group_observations as share_of_observations,
        group_totals.churned_observations,
        cast(group_totals.churned_observations as double)
        / group_totals.observations as churn_rate,
        group_totals.contracted_observations,
        cast(group_totals.contracted_observations as double)
        / group_totals.observations as contraction_rate,
        cast(group_totals.arr as double) as arr,
        cast(group_totals.churned_arr as double) as churned_arr,
        cast(group_totals.contracted_arr as double) as contracted_arr,
        group_totals.as_of_date
    from group_totals
    left join bands as score_bands
        on
            group_totals.assessment = 'score_band'
            and group_totals.assessment_value = score_bands.band_id
    left join bands as tree_bands
        on
            group_totals.assessment = 'tree_outcome'
            and group_totals.assessment_value = tree_bands.decision_tree_outcome_id

)

-- monthly (tag `monthly`): the rows of the last build unless int_monthly_recompute says
-- this run recomputes them
{{ monthly_select('final') }}
