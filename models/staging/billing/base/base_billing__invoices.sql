{{
    stage_raw_table('billing', 'invoices', parents={
        'account_id': ref('base_crm__accounts'),
        'contract_id': ref('base_crm__contracts')
    })
}}
