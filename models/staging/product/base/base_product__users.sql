{{
    stage_raw_table('product', 'users', parents={
        'account_id': ref('base_crm__accounts')
    })
}}
