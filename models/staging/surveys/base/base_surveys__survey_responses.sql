{{ stage_raw_table('surveys', 'survey_responses', known_accounts=ref('base_crm__accounts')) }}
