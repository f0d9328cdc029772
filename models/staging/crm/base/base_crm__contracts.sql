{{ stage_raw_table('crm', 'contracts', known_accounts=ref('base_crm__accounts')) }}
