{{ quarantine_raw_rows('crm', 'accounts', ref('base_crm__accounts')) }}
