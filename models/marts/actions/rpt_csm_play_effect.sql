{#- Did the play work? Per play, calendar quarter of the action's opening (and all quarters,
    period `all`), health band on the opening day and horizon (var csm_play_effect_horizons):
    the actions in which the CSM ran the play (a recorded start, fct_csm_actions.started_date)
    beside the comparable actions in which nobody did (same play, so same trigger; same band;
    same quarter). For each group: how many, how many of their accounts churned within the
    horizon after the opening day, the mean change of the health score from the opening day
    to the horizon's end (accounts still scored then), the differences played - not played
    and their 95% intervals (when both groups have at least csm_play_effect_min_actions):
    Newcombe's hybrid score interval for the churn rates (sound at rates of 0 or 1, where
    the Wald interval collapses), Welch's normal interval for the score change. Only actions whose horizon ended by the last scored day
    count. A comparison, not a causal estimate: CSMs choose where to run a play, so the two
    groups can differ in ways the band does not capture. -#}
{%- set horizons = var('csm_play_effect_horizons') -%}
{%- set min_actions = var('csm_play_effect_min_actions') -%}
{%- set text = dbt.type_string() -%}

with actions as (

    select
        action_id,
        account_id,
        play_id,
        play_label,
        health_band_at_open,
        health_score_at_open,
        opened_date,
        started_date is not null as is_played,
        as_of_date,
        cast({{ dbt.date_trunc('quarter', 'opened_date') }} as date) as period_start
    from {{ ref('fct_csm_actions') }}

),

horizons as (
    {%- for horizon in horizons %}
    select {{ horizon }} as horizon_days
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

churns as (

    select
        account_id,
        outcome_date
    from {{ ref('stg_outcomes__account_outcomes') }}
    where outcome_type = 'churned'

),

-- each action at each horizon whose end is observed
observations as (

    select
        actions.*,
        horizons.horizon_days,
        {{ add_days('horizons.horizon_days', 'actions.opened_date') }} as horizon_date
    from actions
    cross join horizons
    where {{ add_days('horizons.horizon_days', 'actions.opened_date') }} <= actions.as_of_date

),

outcomes as (

    select
        observations.action_id,
        observations.account_id,
        observations.play_id,
        observations.play_label,
        observations.health_band_at_open,
        observations.period_start,
        observations.horizon_days,
        observations.is_played,
        case when count(churns.outcome_date) > 0 then 1.0 else 0.0 end as churned,
        max(later.health_score) - max(observations.health_score_at_open) as score_change
    from observations
    left join churns
        on
            observations.account_id = churns.account_id
            and observations.opened_date < churns.outcome_date
            and observations.horizon_date >= churns.outcome_date
    left join {{ ref('fct_account_health_daily') }} as later
        on
            observations.account_id = later.account_id
            and observations.horizon_date = later.score_date
    group by
        observations.action_id,
        observations.account_id,
        observations.play_id,
        observations.play_label,
        observations.health_band_at_open,
        observations.period_start,
        observations.horizon_days,
        observations.is_played

),

periods as (

    select
        outcomes.*,
        cast(extract(year from outcomes.period_start) as {{ text }})
        || '-Q' || cast(extract(quarter from outcomes.period_start) as {{ text }}) as period
    from outcomes
    union all
    select
        outcomes.*,
        'all' as period
    from outcomes

),

groups as (

    select
        play_id,
        play_label,
        period,
        case when period = 'all' then null else period_start end as period_start,
        health_band_at_open,
        horizon_days,
        sum(case when is_played then 1 else 0 end) as played_actions,
        sum(case when is_played then 0 else 1 end) as not_played_actions,
        sum(case when is_played then churned else 0 end) as played_churned,
        sum(case when is_played then 0 else churned end) as not_played_churned,
        count(case when is_played then score_change end) as played_scored,
        count(case when not is_played then score_change end) as not_played_scored,
        -- the means summed exactly (a double sum's last bits follow the order the engine adds
        -- the rows in, and a mean on a rounding tie would then round either way); the
        -- variances to 1e-9
        cast(
            round({{ exact_avg('case when is_played then score_change end') }}, 9) as double
        ) as played_score_change,
        cast(
            round({{ exact_avg('case when not is_played then score_change end') }}, 9) as double
        ) as not_played_score_change,
        round(var_samp(case when is_played then score_change end), 9) as played_score_variance,
        round(
            var_samp(case when not is_played then score_change end), 9
        ) as not_played_score_variance
    from periods
    group by
        play_id,
        play_label,
        period,
        case when period = 'all' then null else period_start end,
        health_band_at_open,
        horizon_days

),

rates as (

    select
        groups.*,
        case when groups.played_actions > 0 then groups.played_churned / groups.played_actions end
            as played_churn_rate,
        case
            when
                groups.not_played_actions > 0
                then groups.not_played_churned / groups.not_played_actions
        end
            as not_played_churn_rate,
        groups.played_actions >= {{ min_actions }}
        and groups.not_played_actions >= {{ min_actions }}
            as is_comparable
    from groups

),

-- each group's 95% Wilson score interval of its churn rate (comparable groups only)
wilson as (

    select
        rates.*,
        (
            rates.played_churn_rate + 1.959964 * 1.959964 / (2 * rates.played_actions)
            - 1.959964 * sqrt(
                rates.played_churn_rate * (1 - rates.played_churn_rate) / rates.played_actions
                + 1.959964 * 1.959964 / (4 * rates.played_actions * rates.played_actions)
            )
        ) / (1 + 1.959964 * 1.959964 / rates.played_actions) as played_wilson_low,
        (
            rates.played_churn_rate + 1.959964 * 1.959964 / (2 * rates.played_actions)
            + 1.959964 * sqrt(
                rates.played_churn_rate * (1 - rates.played_churn_rate) / rates.played_actions
                + 1.959964 * 1.959964 / (4 * rates.played_actions * rates.played_actions)
            )
        ) / (1 + 1.959964 * 1.959964 / rates.played_actions) as played_wilson_high,
        (
            rates.not_played_churn_rate + 1.959964 * 1.959964 / (2 * rates.not_played_actions)
            - 1.959964 * sqrt(
                rates.not_played_churn_rate * (1 - rates.not_played_churn_rate)
                / rates.not_played_actions
                + 1.959964 * 1.959964 / (4 * rates.not_played_actions * rates.not_played_actions)
            )
        ) / (1 + 1.959964 * 1.959964 / rates.not_played_actions) as not_played_wilson_low,
        (
            rates.not_played_churn_rate + 1.959964 * 1.959964 / (2 * rates.not_played_actions)
            + 1.959964 * sqrt(
                rates.not_played_churn_rate * (1 - rates.not_played_churn_rate)
                / rates.not_played_actions
                + 1.959964 * 1.959964 / (4 * rates.not_played_actions * rates.not_played_actions)
            )
        ) / (1 + 1.959964 * 1.959964 / rates.not_played_actions) as not_played_wilson_high
    from rates
    where rates.is_comparable
    union all
    select
        rates.*,
        cast(null as double) as played_wilson_low,
        cast(null as double) as played_wilson_high,
        cast(null as double) as not_played_wilson_low,
        cast(null as double) as not_played_wilson_high
    from rates
    where not rates.is_comparable

),

final as (

    select
        play_id,
        play_label,
        period,
        period_start,
        health_band_at_open,
        cast(horizon_days as integer) as horizon_days,
        cast(played_actions as integer) as played_actions,
        cast(not_played_actions as integer) as not_played_actions,
        cast(played_churned as integer) as played_churned,
        cast(not_played_churned as integer) as not_played_churned,
        cast(played_churn_rate as double) as played_churn_rate,
        cast(not_played_churn_rate as double) as not_played_churn_rate,
        cast(played_churn_rate - not_played_churn_rate as double) as churn_rate_difference,
        -- Newcombe's hybrid score interval of the difference, from the two Wilson intervals
        cast(
            played_churn_rate - not_played_churn_rate - sqrt(
                (played_churn_rate - played_wilson_low) * (played_churn_rate - played_wilson_low)
                + (not_played_wilson_high - not_played_churn_rate)
                * (not_played_wilson_high - not_played_churn_rate)
            ) as double
        ) as churn_difference_ci_low,
        cast(
            played_churn_rate - not_played_churn_rate + sqrt(
                (played_wilson_high - played_churn_rate) * (played_wilson_high - played_churn_rate)
                + (not_played_churn_rate - not_played_wilson_low)
                * (not_played_churn_rate - not_played_wilson_low)
            ) as double
        ) as churn_difference_ci_high,
        cast(played_scored as integer) as played_scored,
        cast(not_played_scored as integer) as not_played_scored,
        cast(played_score_change as double) as played_score_change,
        cast(not_played_score_change as double) as not_played_score_change,
        cast(played_score_change - not_played_score_change as double) as score_change_difference,
        cast(
            case when
                    played_scored >= {{ min_actions }} and not_played_scored >= {{ min_actions }}
                    then
                        played_score_change - not_played_score_change - 1.96 * sqrt(
                            played_score_variance / played_scored
                            + not_played_score_variance / not_played_scored
                        )
            end as double
        ) as score_difference_ci_low,
        cast(
            case when
                    played_scored >= {{ min_actions }} and not_played_scored >= {{ min_actions }}
                    then
                        played_score_change - not_played_score_change + 1.96 * sqrt(
                            played_score_variance / played_scored
                            + not_played_score_variance / not_played_scored
                        )
            end as double
        ) as score_difference_ci_high,
        is_comparable
    from wilson

)

select * from final
