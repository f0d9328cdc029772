with validated_outcomes as (

    select * from {{ ref('base_outcomes__account_outcomes') }}
    where rejection_reason is null

),

final as (

    select
        outcome_id,
        account_id,
        outcome_type,
        arr_before,
        arr_after,
        arr_after - arr_before as arr_change,
        outcome_date,
        loaded_at
    from validated_outcomes

)

select * from final
