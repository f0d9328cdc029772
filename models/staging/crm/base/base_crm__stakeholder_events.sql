{{ stage_raw_table('crm', 'stakeholder_events', known_accounts=ref('base_crm__accounts')) }}
