{{ stage_raw_table('product', 'feature_usage_daily', known_accounts=ref('base_crm__accounts')) }}
