{{ stage_raw_table('crm', 'onboarding_milestones', known_accounts=ref('base_crm__accounts')) }}
