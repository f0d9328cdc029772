with validated_users as (

    select * from {{ ref('base_product__users') }}
    where rejection_reason is null

),

final as (

    select
        user_id,
        account_id,
        user_role,
        coalesce(team, 'Unknown') as team,
        cast(invited_at as date) as invited_date,
        cast(activated_at as date) as activated_date,
        cast(deactivated_at as date) as deactivated_date,
        invited_at,
        activated_at,
        deactivated_at,
        loaded_at
    from validated_users

)

select * from final
