{{ stage_raw_table('product', 'user_activity_daily', known_accounts=ref('base_crm__accounts')) }}
