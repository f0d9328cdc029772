with user_activity as (

    select
        user_id,
        account_id,
        is_engaged,
        key_events,
        activity_date
    from {{ ref('stg_product__user_activity_daily') }}

),

final as (

    -- one row per user and day already (the staging primary key)
    select
        user_id,
        account_id,
        key_events,
        activity_date
    from user_activity
    where is_engaged

)

select * from final
