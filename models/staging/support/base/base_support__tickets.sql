{{
    stage_raw_table('support', 'tickets', parents={
        'account_id': ref('base_crm__accounts')
    })
}}
