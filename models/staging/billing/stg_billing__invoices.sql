with validated_invoices as (

    select * from {{ ref('base_billing__invoices') }}
    where rejection_reason is null

),

final as (

    select
        invoice_id,
        account_id,
        contract_id,
        status as invoice_status,
        amount as invoice_amount,
        cast(issued_at as date) as issued_date,
        due_date,
        cast(paid_at as date) as paid_date,
        issued_at,
        paid_at,
        loaded_at
    from validated_invoices

)

select * from final
