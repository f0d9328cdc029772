{#- Incremental (config in dbt_project.yml). One row per trigger of a play of the playbook
    (seed csm_plays): the account, the play and the day its trigger fired, the evidence, what
    the account looked like that day (score, band, ARR, expansion score: the priority's
    inputs) and the first day after it on which each way of closing an action opened by it
    happened within its expiry: the success metric met, the CSM's recorded completion of the
    play, a superseding play's trigger. Only data of days <= the build's last scored day is
    read, and each date found is the first one, so a later day never changes an earlier one.
    fct_csm_actions chains these triggers into actions (one open per account and play). Each
    computed day also has one marker row (no account, no play), so that an incremental run
    replaces every day it recomputes, a day whose triggers are all gone included.

    Triggers fire on the first day of a run of days on which their condition holds:
    band_entry (the band is trigger_value and was not the day before), score_drop (the
    score-drop alert of fct_health_alerts), red_flag (the flag trigger_value is raised:
    it holds and its run starts that day), expansion_ready (the expansion level becomes
    trigger_value), churn_risk (the churn risk level becomes trigger_value). An incremental
    run recomputes the triggers from the longest expiry of the playbook before the recompute
    date, the only ones whose closing can still change. -#}
{%- set flags = health_flags() -%}
{%- set text = dbt.type_string() -%}

{%- if is_incremental() %}
{%- set recompute_from = incremental_recompute_date(
    extra_days=csm_play_max_expire_days(), date_column='trigger_date', announce=true
) %}
{%- endif %}

with plays as (

    select * from {{ ref('csm_plays') }}

),

bands as (

    select
        band_id,
        band_rank
    from {{ ref('health_bands') }}

),

risk_levels as (

    select
        risk_level,
        level_rank
    from {{ ref('churn_risk_levels') }}

),

as_of as (

    select max(score_date) as as_of_date
    from {{ ref('fct_account_health_daily') }}

),

daily_health as (

    select
        account_id,
        score_date,
        health_band,
        health_score
    from {{ ref('fct_account_health_daily') }}
    {%- if is_incremental() %}
    where score_date >= {{ add_days(-1, recompute_from) }}
    {%- endif %}

),

expansion as (

    select
        account_id,
        score_date,
        expansion_level,
        expansion_score,
        expansion_signals
    from {{ ref('fct_account_expansion_daily') }}
    {%- if is_incremental() %}
    where score_date >= {{ add_days(-1, recompute_from) }}
    {%- endif %}

),

churn_risk as (

    select
        account_id,
        score_date,
        churn_risk_level,
        churn_risk_level_rank,
        churn_probability_90d,
        risk_factors
    from {{ ref('fct_account_churn_risk_daily') }}
    {%- if is_incremental() %}
    where score_date >= {{ add_days(-1, recompute_from) }}
    {%- endif %}

),

flags as (

    select
        account_id,
        score_date,
        {%- for flag in flags %}
        {{ flag }},
        {{ flag }}_since,
        {{ flag }}_evidence,
        {%- endfor %}
        red_flag_count
    from {{ ref('fct_account_health_flags_daily') }}
    {%- if is_incremental() %}
    where score_date >= {{ recompute_from }}
    {%- endif %}

),

-- each state trigger: the day's value beside the day before's
band_entries as (

    select
        today.account_id,
        today.score_date as trigger_date,
        'band_entry' as trigger_type,
        today.health_band as trigger_value,
        case
            when yesterday.health_band is null
                then 'Band ' || today.health_band || ' on the first scored day ('
            else 'Band went from ' || yesterday.health_band || ' to ' || today.health_band || ' ('
        end
        || {{ one_decimal_text('today.health_score') }} || ')' as trigger_evidence
    from daily_health as today
    left join daily_health as yesterday
        on
            today.account_id = yesterday.account_id
            and yesterday.score_date = {{ add_days(-1, 'today.score_date') }}
    where
        today.health_band != coalesce(yesterday.health_band, '')
    {%- if is_incremental() %}
        and today.score_date >= {{ recompute_from }}
        {%- endif %}

),

score_drops as (

    select
        account_id,
        alert_date as trigger_date,
        'score_drop' as trigger_type,
        cast(null as {{ text }}) as trigger_value,
        alert_detail as trigger_evidence
    from {{ ref('fct_health_alerts') }}
    where
        alert_type = 'score_drop'
    {%- if is_incremental() %}
        and alert_date >= {{ recompute_from }}
        {%- endif %}

),

-- the flags some play watches
flag_plays as (

    select distinct trigger_value
    from plays
    where trigger_type = 'red_flag'

),

-- each day's flags row read once for all the watched flags
flags_raised as (

    select
        flags.account_id,
        flags.score_date as trigger_date,
        'red_flag' as trigger_type,
        flag_plays.trigger_value,
        case flag_plays.trigger_value
            {%- for flag in flags %}
            when '{{ flag }}' then flags.{{ flag }}_evidence
            {%- endfor %}
        end as trigger_evidence
    from flags
    cross join flag_plays
    where
        case flag_plays.trigger_value
            {%- for flag in flags %}
            when '{{ flag }}' then flags.{{ flag }} and flags.{{ flag }}_since = flags.score_date
            {%- endfor %}
        end

),

expansion_entries as (

    select
        today.account_id,
        today.score_date as trigger_date,
        'expansion_ready' as trigger_type,
        today.expansion_level as trigger_value,
        'Expansion potential ' || today.expansion_level || ' (score '
        || {{ one_decimal_text('today.expansion_score') }} || ')'
        || coalesce(': ' || today.expansion_signals, '') as trigger_evidence
    from expansion as today
    left join expansion as yesterday
        on
            today.account_id = yesterday.account_id
            and yesterday.score_date = {{ add_days(-1, 'today.score_date') }}
    where
        today.expansion_level is not null
        and today.expansion_level != coalesce(yesterday.expansion_level, '')
    {%- if is_incremental() %}
        and today.score_date >= {{ recompute_from }}
        {%- endif %}

),

risk_entries as (

    select
        today.account_id,
        today.score_date as trigger_date,
        'churn_risk' as trigger_type,
        today.churn_risk_level as trigger_value,
        'Churn risk ' || today.churn_risk_level || ' ('
        || {{ one_decimal_text('100 * today.churn_probability_90d') }} || '% in 90 days)'
        || coalesce(': ' || today.risk_factors, '') as trigger_evidence
    from churn_risk as today
    left join churn_risk as yesterday
        on
            today.account_id = yesterday.account_id
            and yesterday.score_date = {{ add_days(-1, 'today.score_date') }}
    where
        today.churn_risk_level is not null
        and today.churn_risk_level != coalesce(yesterday.churn_risk_level, '')
    {%- if is_incremental() %}
        and today.score_date >= {{ recompute_from }}
        {%- endif %}

),

fired as (

    select * from band_entries
    union all
    select * from score_drops
    union all
    select * from flags_raised
    union all
    select * from expansion_entries
    union all
    select * from risk_entries

),

triggers as (

    select
        fired.account_id,
        plays.play_id,
        fired.trigger_date,
        fired.trigger_evidence,
        plays.success_metric,
        plays.success_value,
        plays.trigger_value,
        {{ add_days('plays.expire_days', 'fired.trigger_date') }} as expires_date
    from fired
    inner join plays
        on
            fired.trigger_type = plays.trigger_type
            and coalesce(fired.trigger_value, '') = coalesce(plays.trigger_value, '')

),

-- the account on the trigger day: the priority's inputs and the success metric's baseline
opened as (

    select
        triggers.*,
        health.health_band as health_band_at_open,
        health.health_score as health_score_at_open,
        expansion.expansion_score as expansion_score_at_open,
        account_days.arr as arr_at_open
    from triggers
    left join daily_health as health
        on
            triggers.account_id = health.account_id
            and triggers.trigger_date = health.score_date
    left join expansion
        on
            triggers.account_id = expansion.account_id
            and triggers.trigger_date = expansion.score_date
    left join {{ ref('int_account_days') }} as account_days
        on
            triggers.account_id = account_days.account_id
            and triggers.trigger_date = account_days.score_date

),

-- the days after each trigger up to its expiry (and the last scored day) on which its
-- success metric is met
successes as (

    select
        triggers.account_id,
        triggers.play_id,
        triggers.trigger_date,
        min(health.score_date) as success_date
    from triggers
    cross join as_of
    inner join daily_health as health
        on
            triggers.account_id = health.account_id
            and triggers.trigger_date < health.score_date
            and triggers.expires_date >= health.score_date
            and as_of.as_of_date >= health.score_date
    left join daily_health as health_open
        on
            triggers.account_id = health_open.account_id
            and triggers.trigger_date = health_open.score_date
    left join bands as band_now
        on health.health_band = band_now.band_id
    left join bands as band_trigger
        on triggers.trigger_value = band_trigger.band_id
    left join flags
        on
            health.account_id = flags.account_id
            and health.score_date = flags.score_date
    left join churn_risk
        on
            health.account_id = churn_risk.account_id
            and health.score_date = churn_risk.score_date
    left join risk_levels
        on triggers.trigger_value = risk_levels.risk_level
    where
        triggers.success_metric in (
            'band_improved', 'score_recovered', 'flag_cleared', 'risk_reduced'
        )
        and case triggers.success_metric
            when 'band_improved' then band_now.band_rank < band_trigger.band_rank
            when 'score_recovered'
                then health.health_score >= health_open.health_score + triggers.success_value
            when 'risk_reduced' then churn_risk.churn_risk_level_rank < risk_levels.level_rank
            when 'flag_cleared' then case triggers.trigger_value
                    {%- for flag in flags %}
                    when '{{ flag }}' then not flags.{{ flag }}
                    {%- endfor %}
                end
        end
    group by triggers.account_id, triggers.play_id, triggers.trigger_date

),

outcome_successes as (

    select
        triggers.account_id,
        triggers.play_id,
        triggers.trigger_date,
        min(outcomes.outcome_date) as success_date
    from triggers
    cross join as_of
    inner join {{ ref('stg_outcomes__account_outcomes') }} as outcomes
        on
            triggers.account_id = outcomes.account_id
            and triggers.trigger_date < outcomes.outcome_date
            and triggers.expires_date >= outcomes.outcome_date
            and as_of.as_of_date >= outcomes.outcome_date
            and (
                (triggers.success_metric = 'renewed' and outcomes.outcome_type = 'renewed')
                or (triggers.success_metric = 'expanded' and outcomes.outcome_type = 'expanded')
            )
    group by triggers.account_id, triggers.play_id, triggers.trigger_date

),

-- the CSM's recorded activity for the play: first start and first completion from the
-- trigger day to its expiry
activities as (

    select
        triggers.account_id,
        triggers.play_id,
        triggers.trigger_date,
        min(activities.started_date) as started_date,
        min(case
            when activities.completed_date <= triggers.expires_date
                and activities.completed_date <= as_of.as_of_date
                then activities.completed_date
        end) as completed_date
    from triggers
    cross join as_of
    inner join {{ ref('stg_crm__csm_activities') }} as activities
        on
            triggers.account_id = activities.account_id
            and triggers.play_id = activities.play_id
            and triggers.trigger_date <= activities.started_date
            and triggers.expires_date >= activities.started_date
            and as_of.as_of_date >= activities.started_date
    group by triggers.account_id, triggers.play_id, triggers.trigger_date

),

-- a later trigger of a play that lists this one in `supersedes`
superseded as (

    select
        triggers.account_id,
        triggers.play_id,
        triggers.trigger_date,
        min(later.trigger_date) as superseded_date
    from triggers
    inner join plays as superseding
        on {{ pipe_list_contains('superseding.supersedes', 'triggers.play_id') }}
    inner join triggers as later
        on
            triggers.account_id = later.account_id
            and superseding.play_id = later.play_id
            and triggers.trigger_date < later.trigger_date
            and triggers.expires_date >= later.trigger_date
    group by triggers.account_id, triggers.play_id, triggers.trigger_date

),

-- one row per scored day of the computed days, so an incremental run replaces every one of
-- them (DuckDB by day, Spark by trigger_date partition), also a day whose triggers are gone
day_markers as (

    select distinct score_date as trigger_date
    from daily_health
    {%- if is_incremental() %}
    where score_date >= {{ recompute_from }}
    {%- endif %}

),

final as (

    select
        {{ dbt.hash(
            "opened.account_id || '|' || opened.play_id || '|' || cast(opened.trigger_date as "
            ~ text ~ ")"
        ) }} as trigger_id,
        opened.account_id,
        opened.play_id,
        opened.trigger_date,
        cast(opened.trigger_evidence as {{ text }}) as trigger_evidence,
        opened.health_band_at_open,
        cast(opened.health_score_at_open as double) as health_score_at_open,
        cast(opened.expansion_score_at_open as double) as expansion_score_at_open,
        cast(opened.arr_at_open as double) as arr_at_open,
        opened.expires_date,
        coalesce(successes.success_date, outcome_successes.success_date) as success_date,
        activities.started_date,
        activities.completed_date,
        superseded.superseded_date
    from opened
    left join successes
        on
            opened.account_id = successes.account_id
            and opened.play_id = successes.play_id
            and opened.trigger_date = successes.trigger_date
    left join outcome_successes
        on
            opened.account_id = outcome_successes.account_id
            and opened.play_id = outcome_successes.play_id
            and opened.trigger_date = outcome_successes.trigger_date
    left join activities
        on
            opened.account_id = activities.account_id
            and opened.play_id = activities.play_id
            and opened.trigger_date = activities.trigger_date
    left join superseded
        on
            opened.account_id = superseded.account_id
            and opened.play_id = superseded.play_id
            and opened.trigger_date = superseded.trigger_date
    union all
    select
        {{ dbt.hash("'day|' || cast(trigger_date as " ~ text ~ ")") }} as trigger_id,
        cast(null as {{ text }}) as account_id,
        cast(null as {{ text }}) as play_id,
        trigger_date,
        cast(null as {{ text }}) as trigger_evidence,
        cast(null as {{ text }}) as health_band_at_open,
        cast(null as double) as health_score_at_open,
        cast(null as double) as expansion_score_at_open,
        cast(null as double) as arr_at_open,
        cast(null as date) as expires_date,
        cast(null as date) as success_date,
        cast(null as date) as started_date,
        cast(null as date) as completed_date,
        cast(null as date) as superseded_date
    from day_markers

)

select * from final
