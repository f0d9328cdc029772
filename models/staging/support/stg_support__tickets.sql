with validated_tickets as (

    select * from {{ ref('base_support__tickets') }}
    where rejection_reason is null

),

final as (

    select
        ticket_id,
        account_id,
        severity,
        status as ticket_status,
        satisfaction_score,
        severity in ('high', 'urgent') as is_high_severity,
        escalated_at is not null as is_escalated,
        cast(opened_at as date) as opened_date,
        cast(resolved_at as date) as resolved_date,
        opened_at,
        escalated_at,
        resolved_at,
        satisfaction_rated_at,
        loaded_at
    from validated_tickets

)

select * from final
