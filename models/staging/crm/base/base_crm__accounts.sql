{{ stage_raw_table('crm', 'accounts') }}
