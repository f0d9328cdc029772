with validated_accounts as (

    select * from {{ ref('base_crm__accounts') }}
    where rejection_reason is null

),

final as (

    select
        account_id,
        account_name,
        segment,
        industry,
        coalesce(csm_owner, 'Unassigned') as csm_owner,
        cast(created_at as date) as created_date,
        created_at,
        loaded_at
    from validated_accounts

)

select * from final
