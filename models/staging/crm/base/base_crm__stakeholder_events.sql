{{
    stage_raw_table('crm', 'stakeholder_events', parents={
        'account_id': ref('base_crm__accounts')
    })
}}
