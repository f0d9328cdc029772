{% macro raw_tables() %}
    {#- Every raw table of the contract as (source, table). Kept static so that models
        looping over it declare their refs at parse time; a test checks it against the
        sources YAML. -#}
    {{ return([
        ('crm', 'accounts'),
        ('crm', 'contracts'),
        ('crm', 'onboarding_milestones'),
        ('crm', 'stakeholder_events'),
        ('crm', 'csm_activities'),
        ('product', 'features'),
        ('product', 'users'),
        ('product', 'user_activity_daily'),
        ('product', 'feature_usage_daily'),
        ('support', 'tickets'),
        ('surveys', 'survey_responses'),
        ('billing', 'invoices'),
        ('billing', 'payments'),
        ('outcomes', 'account_outcomes'),
    ]) }}
{% endmacro %}
