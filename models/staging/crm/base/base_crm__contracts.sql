{{
    stage_raw_table('crm', 'contracts', parents={
        'account_id': ref('base_crm__accounts')
    })
}}
