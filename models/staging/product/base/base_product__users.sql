{{ stage_raw_table('product', 'users', known_accounts=ref('base_crm__accounts')) }}
