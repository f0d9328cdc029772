{{
    stage_raw_table('surveys', 'survey_responses', parents={
        'account_id': ref('base_crm__accounts'),
        'user_id': ref('base_product__users')
    })
}}
