{{
    stage_raw_table('billing', 'payments', parents={
        'account_id': ref('base_crm__accounts'),
        'invoice_id': ref('base_billing__invoices')
    })
}}
