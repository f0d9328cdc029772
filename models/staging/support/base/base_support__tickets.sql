{{ stage_raw_table('support', 'tickets', known_accounts=ref('base_crm__accounts')) }}
