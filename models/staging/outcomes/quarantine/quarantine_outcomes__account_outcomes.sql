{{ quarantine_raw_rows('outcomes', 'account_outcomes', ref('base_outcomes__account_outcomes')) }}
