{{ quarantine_raw_rows('crm', 'contracts', ref('base_crm__contracts')) }}
