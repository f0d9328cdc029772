with validated_usage as (

    select * from {{ ref('base_product__feature_usage_daily') }}
    where rejection_reason is null

),

final as (

    select
        account_id,
        feature_id,
        active_users,
        event_count,
        usage_date,
        loaded_at
    from validated_usage

)

select * from final
