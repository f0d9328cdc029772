with validated_payments as (

    select * from {{ ref('base_billing__payments') }}
    where rejection_reason is null

),

final as (

    select
        payment_id,
        invoice_id,
        account_id,
        payment_status,
        failure_reason,
        amount as payment_amount,
        payment_status = 'failed' as is_failed,
        cast(attempted_at as date) as attempted_date,
        attempted_at,
        loaded_at
    from validated_payments

)

select * from final
