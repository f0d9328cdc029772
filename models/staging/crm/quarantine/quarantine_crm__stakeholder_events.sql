{{ quarantine_raw_rows('crm', 'stakeholder_events', ref('base_crm__stakeholder_events')) }}
