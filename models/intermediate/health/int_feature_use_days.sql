with feature_usage as (

    select
        account_id,
        feature_id,
        active_users,
        event_count,
        usage_date
    from {{ ref('stg_product__feature_usage_daily') }}

),

features as (

    select
        feature_id,
        is_value_driving,
        is_integration
    from {{ ref('stg_product__features') }}

),

final as (

    -- one row per account, feature and day already (the staging primary key)
    select
        feature_usage.account_id,
        feature_usage.feature_id,
        features.is_value_driving,
        features.is_integration,
        feature_usage.usage_date
    from feature_usage
    inner join features
        on feature_usage.feature_id = features.feature_id
    where feature_usage.active_users > 0 or feature_usage.event_count > 0

)

select * from final
