with validated_activity as (

    select * from {{ ref('base_product__user_activity_daily') }}
    where rejection_reason is null

),

final as (

    select
        user_id,
        account_id,
        sessions,
        active_minutes,
        key_events,
        sessions > 0 or key_events > 0 as is_engaged,
        activity_date,
        loaded_at
    from validated_activity

)

select * from final
