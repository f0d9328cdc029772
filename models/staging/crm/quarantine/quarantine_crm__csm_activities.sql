{{ quarantine_raw_rows('crm', 'csm_activities', ref('base_crm__csm_activities')) }}
