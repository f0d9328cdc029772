{{ quarantine_raw_rows('crm', 'onboarding_milestones', ref('base_crm__onboarding_milestones')) }}
