{{ quarantine_raw_rows('surveys', 'survey_responses', ref('base_surveys__survey_responses')) }}
