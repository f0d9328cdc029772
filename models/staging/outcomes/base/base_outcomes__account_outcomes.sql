{{
    stage_raw_table('outcomes', 'account_outcomes', parents={
        'account_id': ref('base_crm__accounts')
    })
}}
