with validated_events as (

    select * from {{ ref('base_crm__stakeholder_events') }}
    where rejection_reason is null

),

final as (

    select
        event_id as stakeholder_event_id,
        account_id,
        contact_id,
        stakeholder_role,
        event_type as stakeholder_event_type,
        cast(occurred_at as date) as occurred_date,
        occurred_at,
        loaded_at
    from validated_events

)

select * from final
