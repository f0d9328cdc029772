with validated_features as (

    select * from {{ ref('base_product__features') }}
    where rejection_reason is null

),

final as (

    select
        feature_id,
        feature_name,
        feature_category,
        is_value_driving,
        feature_category = 'integration' as is_integration,
        cast(released_at as date) as released_date,
        released_at,
        loaded_at
    from validated_features

)

select * from final
