{{ stage_raw_table('billing', 'invoices', known_accounts=ref('base_crm__accounts')) }}
