{{ quarantine_raw_rows('support', 'tickets', ref('base_support__tickets')) }}
