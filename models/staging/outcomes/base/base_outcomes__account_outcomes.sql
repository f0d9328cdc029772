{{ stage_raw_table('outcomes', 'account_outcomes', known_accounts=ref('base_crm__accounts')) }}
