with validated_milestones as (

    select * from {{ ref('base_crm__onboarding_milestones') }}
    where rejection_reason is null

),

final as (

    select
        milestone_id,
        account_id,
        milestone_name,
        completed_at is not null as is_completed,
        planned_date,
        cast(completed_at as date) as completed_date,
        completed_at,
        loaded_at
    from validated_milestones

)

select * from final
