with validated_activities as (

    select * from {{ ref('base_crm__csm_activities') }}
    where rejection_reason is null

),

final as (

    select
        activity_id,
        account_id,
        play_id,
        csm_owner,
        outcome,
        outcome_note,
        cast(started_at as date) as started_date,
        cast(completed_at as date) as completed_date,
        started_at,
        completed_at,
        loaded_at
    from validated_activities

)

select * from final
