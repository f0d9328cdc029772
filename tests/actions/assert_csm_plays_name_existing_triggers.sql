-- Every play of the seed csm_plays is consistent with the project's other seeds: its
-- trigger type is one int_csm_play_events computes, its trigger_value names a band, flag,
-- expansion level or churn risk level that exists (none for score_drop), its success metric
-- fits its trigger type, score_recovered has its points,
-- expire_days >= due_days >= 1, the weight is positive and every superseded play exists.
-- Returns one row per problem.
{%- set metrics = csm_play_success_metrics() %}

with plays as (

    select * from {{ ref('csm_plays') }}

),

known_values as (

    select
        'band_entry' as trigger_type,
        band_id as trigger_value
    from {{ ref('health_bands') }}
    union all
    select
        'red_flag' as trigger_type,
        flag_id as trigger_value
    from {{ ref('health_flag_rules') }}
    where flag_type = 'red_flag'
    union all
    select
        'expansion_ready' as trigger_type,
        expansion_level as trigger_value
    from {{ ref('expansion_levels') }}
    union all
    select
        'churn_risk' as trigger_type,
        risk_level as trigger_value
    from {{ ref('churn_risk_levels') }}

),

-- how many plays each play's `supersedes` names, beside how many ids it holds
superseded as (

    select
        plays.play_id,
        {{ dbt.length('plays.supersedes') }}
        - {{ dbt.length("replace(plays.supersedes, '|', '')") }} + 1 as listed_count,
        count(other_plays.play_id) as found_count
    from plays
    left join plays as other_plays
        on
            {{ pipe_list_contains('plays.supersedes', 'other_plays.play_id') }}
            and plays.play_id != other_plays.play_id
    where coalesce(plays.supersedes, '') != ''
    group by plays.play_id, plays.supersedes

),

problems as (

    select
        plays.play_id,
        'unknown trigger_value ' || coalesce(plays.trigger_value, '(empty)') as problem
    from plays
    left join known_values
        on
            plays.trigger_type = known_values.trigger_type
            and plays.trigger_value = known_values.trigger_value
    where plays.trigger_type != 'score_drop' and known_values.trigger_value is null
    union all
    select
        play_id,
        'unknown trigger_type ' || trigger_type as problem
    from plays
    where trigger_type not in (
            {%- for trigger_type in csm_play_trigger_types() %}
            '{{ trigger_type }}'{{ ',' if not loop.last }}
            {%- endfor %}
        )
    union all
    select
        play_id,
        'score_drop takes no trigger_value' as problem
    from plays
    where trigger_type = 'score_drop' and trigger_value is not null
    union all
    select
        play_id,
        'success_metric ' || success_metric || ' does not fit trigger ' || trigger_type as problem
    from plays
    where
    {%- for metric, trigger in metrics.items() if trigger is not none %}
        (success_metric = '{{ metric }}' and trigger_type != '{{ trigger }}')
        {%- if not loop.last %} or{% endif %}
    {%- endfor %}
    union all
    select
        play_id,
        'success_value must be a positive number of points for score_recovered only' as problem
    from plays
    where
        (success_metric = 'score_recovered' and coalesce(success_value, 0) <= 0)
        or (success_metric != 'score_recovered' and success_value is not null)
    union all
    select
        play_id,
        'need expire_days >= due_days >= 1' as problem
    from plays
    where due_days < 1 or expire_days < due_days
    union all
    select
        play_id,
        'priority_weight must be positive' as problem
    from plays
    where priority_weight <= 0
    union all
    select
        play_id,
        'supersedes names a play that does not exist (or itself)' as problem
    from superseded
    where listed_count != found_count

)

select * from problems
