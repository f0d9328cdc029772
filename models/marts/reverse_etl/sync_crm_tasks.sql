-- The CRM task sync's payload: one HubSpot task per action of the queue that is open, or
-- that closed within crm_task_closed_days days (so its task is completed in the CRM).
-- `customer-health sync-tasks` creates the task associated with the company whose
-- health_account_id it names and updates it when a property changes. No names leave the
-- warehouse: the owner travels as a HubSpot owner id from the var crm_task_owner_ids.
{% set owner_ids = var('crm_task_owner_ids') -%}
{%- set text = dbt.type_string() %}

with actions as (

    select * from {{ ref('fct_csm_actions') }}
    where
        action_status = 'open'
        or closed_date >= {{ add_days(-var('crm_task_closed_days'), 'as_of_date') }}

),

final as (

    select
        action_id as health_action_id,
        account_id as health_account_id,
        play_label as hs_task_subject,
        cast(
            action_text
            || '. Why: '
            || coalesce(trigger_evidence, 'trigger on ' || cast(opened_date as {{ text }}))
            || '. Done when: ' || success_description
            || '. Opened ' || cast(opened_date as {{ text }})
            || ', due ' || cast(due_date as {{ text }})
            || ', expires ' || cast(expires_date as {{ text }}) || '.'
            || case action_status
                when 'open' then ''
                when 'done'
                    then ' Closed ' || cast(closed_date as {{ text }}) || ': '
                        || case close_reason
                            when 'recorded_done' then 'recorded done by the CSM.'
                            else 'success metric met.'
                        end
                when 'superseded'
                    then ' Closed ' || cast(closed_date as {{ text }})
                        || ': superseded by a more urgent play.'
                else ' Closed ' || cast(closed_date as {{ text }}) || ': expired.'
            end
            as {{ text }}
        ) as hs_task_body,
        case when action_status = 'open' then 'NOT_STARTED' else 'COMPLETED' end
            as hs_task_status,
        upper(priority) as hs_task_priority,
        'TODO' as hs_task_type,
        due_date as hs_timestamp,
        case csm_owner
        {%- for name, owner_id in owner_ids.items() %}
            when {{ sql_string_literal(name) }} then {{ sql_string_literal(owner_id | string) }}
            {%- endfor %}
            when '' then cast(null as {{ text }})
        end as hubspot_owner_id,
        action_status,
        as_of_date as health_as_of_date
    from actions

)

select * from final
