with validated_contracts as (

    select * from {{ ref('base_crm__contracts') }}
    where rejection_reason is null

),

final as (

    select
        contract_id,
        account_id,
        contract_type,
        status as contract_status,
        arr,
        licensed_seats,
        {{ dbt.datediff('start_date', 'end_date', 'day') }}
        + 1 as term_days,
        coalesce(auto_renew, false) as is_auto_renew,
        start_date,
        end_date,
        cast(signed_at as date) as signed_date,
        signed_at,
        loaded_at
    from validated_contracts

)

select * from final
