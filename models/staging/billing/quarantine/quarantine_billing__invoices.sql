{{ quarantine_raw_rows('billing', 'invoices', ref('base_billing__invoices')) }}
