{{ stage_raw_table('billing', 'payments', known_accounts=ref('base_crm__accounts')) }}
