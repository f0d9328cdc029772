{{
    stage_raw_table('crm', 'onboarding_milestones', parents={
        'account_id': ref('base_crm__accounts')
    })
}}
