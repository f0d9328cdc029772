{%- set grace_days = var('milestone_grace_days') -%}

with account_days as (

    select
        account_id,
        score_date,
        account_start_date
    from {{ ref('int_account_days') }}
    {%- if is_incremental() %}
    where score_date >= {{ incremental_recompute_date() }}
    {%- endif %}

),

milestones as (

    select
        account_id,
        milestone_name,
        planned_date,
        completed_date,
        -- first day on which the milestone is late if still open
        {{ add_days(grace_days + 1, 'planned_date') }} as overdue_from_date
    from {{ ref('stg_crm__onboarding_milestones') }}

),

account_milestones as (

    select
        account_id,
        count(*) as milestone_count,
        min(case when milestone_name = 'first_value' then completed_date end) as first_value_date,
        max(case when milestone_name = 'first_value' then 1 else 0 end) as has_first_value_milestone
    from milestones
    group by account_id

),

{#- A milestone is judged once it is completed or overdue, whichever comes first; it is
    overdue from overdue_from_date until completed. -#}
{%- set on_schedule = 'completed_date < overdue_from_date' %}
{%- set judged_on = 'case when ' ~ on_schedule
    ~ ' then completed_date else overdue_from_date end' %}
{%- set milestone_changes = [
    ('milestones', judged_on, {
        'judged_milestones': 1,
        'on_schedule_milestones': 'case when ' ~ on_schedule ~ ' then 1 else 0 end',
    }, 'true'),
    ('milestones', 'overdue_from_date', {'overdue_milestones': 1},
        'completed_date is null or completed_date > overdue_from_date'),
    ('milestones', 'completed_date', {'overdue_milestones': -1},
        'completed_date > overdue_from_date'),
] %}

milestone_changes as (

    {{ dated_changes(milestone_changes, {
        'judged_milestones': '0',
        'on_schedule_milestones': '0',
        'overdue_milestones': '0',
    }) }}

),

milestone_totals as (

    {{ running_totals_on_spine('account_days', 'milestone_changes', {
        'judged_milestones': 'sum',
        'on_schedule_milestones': 'sum',
        'overdue_milestones': 'sum',
    }) }}

),

milestone_position as (

    select
        milestone_totals.*,
        account_days.account_start_date,
        account_milestones.first_value_date,
        coalesce(account_milestones.milestone_count, 0) as milestone_count,
        coalesce(account_milestones.has_first_value_milestone, 0) as has_first_value_milestone
    from milestone_totals
    inner join account_days
        on
            milestone_totals.account_id = account_days.account_id
            and milestone_totals.score_date = account_days.score_date
    left join account_milestones
        on milestone_totals.account_id = account_milestones.account_id

),

final as (

    select
        account_id,
        score_date,
        judged_milestones,
        on_schedule_milestones,
        coalesce(first_value_date <= score_date, false) as has_reached_first_value,
        case
            when judged_milestones > 0
                then cast(on_schedule_milestones as double) / judged_milestones
        end as milestone_on_schedule_rate,
        case when milestone_count > 0 then overdue_milestones end as overdue_milestone_count,
        case
            when has_first_value_milestone = 0 then null
            when first_value_date <= score_date
                then {{ dbt.datediff('account_start_date', 'first_value_date', 'day') }}
            else {{ dbt.datediff('account_start_date', 'score_date', 'day') }}
        end as days_to_first_value
    from milestone_position

)

select * from final
