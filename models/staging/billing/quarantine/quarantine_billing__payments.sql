{{ quarantine_raw_rows('billing', 'payments', ref('base_billing__payments')) }}
