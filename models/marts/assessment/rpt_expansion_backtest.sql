{#- Does the expansion potential find the accounts that expand? At every back-test
    observation (an active account at an observable month-end), the expansion level and score
    known that day against what happened within the horizon: expansion, next to churn and
    contraction. One row per segment (and `all`) and expansion level (and `all`), all as-of
    dates pooled; the AUC of the expansion score (and of the health score, for comparison)
    as a ranking of the accounts that expand is the segment's, on each of its rows. -#}
with observations as (

    select
        observations.account_id,
        observations.as_of_date,
        observations.segment,
        observations.computed_health_score,
        observations.is_expanded,
        observations.is_churned,
        observations.is_contracted,
        expansion.expansion_level,
        expansion.expansion_score
    from {{ ref('fct_health_backtest_observations') }} as observations
    inner join {{ ref('fct_account_expansion_daily') }} as expansion
        on
            observations.account_id = expansion.account_id
            and observations.as_of_date = expansion.score_date

),

grouped as (

    select *
    from ({{ backtest_groups('observations') }}) as grouped_observations
    where period = 'overall'

),

levels as (

    select
        expansion_level,
        level_rank
    from {{ ref('expansion_levels') }}

),

by_level as (

    select
        segment_group,
        expansion_level,
        count(*) as observations,
        sum(case when is_expanded then 1 else 0 end) as expanded_observations,
        sum(case when is_churned then 1 else 0 end) as churned_observations,
        sum(case when is_contracted then 1 else 0 end) as contracted_observations,
        min(as_of_date) as first_as_of_date,
        max(as_of_date) as last_as_of_date
    from grouped
    group by segment_group, expansion_level
    union all
    select
        segment_group,
        'all' as expansion_level,
        count(*) as observations,
        sum(case when is_expanded then 1 else 0 end) as expanded_observations,
        sum(case when is_churned then 1 else 0 end) as churned_observations,
        sum(case when is_contracted then 1 else 0 end) as contracted_observations,
        min(as_of_date) as first_as_of_date,
        max(as_of_date) as last_as_of_date
    from grouped
    group by segment_group

),

-- both rankings as the AUC macro reads them: lower value = likelier to expand
ranked_values as (

    select
        segment_group,
        'expansion_score' as predictor,
        -expansion_score as predictor_value,
        is_expanded
    from grouped
    where expansion_score is not null
    union all
    select
        segment_group,
        'health_score' as predictor,
        -computed_health_score as predictor_value,
        is_expanded
    from grouped
    where computed_health_score is not null

),

value_counts as (

    select
        segment_group,
        predictor,
        predictor_value,
        count(*) as observations,
        sum(case when is_expanded then 1 else 0 end) as expanded_observations
    from ranked_values
    group by segment_group, predictor, predictor_value

),

expansion_auc as (

    {{ mann_whitney_auc(
        'value_counts', ['segment_group', 'predictor'], 'predictor_value', 'observations',
        'expanded_observations'
    ) }}

),

final as (

    select
        by_level.segment_group as segment,
        by_level.expansion_level,
        cast(coalesce(levels.level_rank, 0) as integer) as level_rank,
        cast(by_level.observations as bigint) as observations,
        cast(by_level.expanded_observations as bigint) as expanded_observations,
        cast(by_level.expanded_observations as double) / by_level.observations as expansion_rate,
        cast(by_level.churned_observations as bigint) as churned_observations,
        cast(by_level.churned_observations as double) / by_level.observations as churn_rate,
        cast(by_level.contracted_observations as bigint) as contracted_observations,
        cast(by_level.contracted_observations as double) / by_level.observations
            as contraction_rate,
        cast(score_auc.auc as double) as expansion_auc,
        cast(health_auc.auc as double) as health_score_expansion_auc,
        coalesce(score_auc.positives, 0) >= {{ var('backtest_min_churned') }}
            as has_enough_expanded,
        by_level.first_as_of_date,
        by_level.last_as_of_date
    from by_level
    left join levels
        on by_level.expansion_level = levels.expansion_level
    left join expansion_auc as score_auc
        on
            by_level.segment_group = score_auc.segment_group
            and score_auc.predictor = 'expansion_score'
    left join expansion_auc as health_auc
        on
            by_level.segment_group = health_auc.segment_group
            and health_auc.predictor = 'health_score'

)

-- monthly (tag `monthly`): the rows of the last build unless int_monthly_recompute says
-- this run recomputes them
{{ monthly_select('final') }}
