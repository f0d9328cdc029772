{% macro health_flags() %}
    {#- The red flags and green lights of the account assessment (seed 004), in display
        order. Each has one row in the seed health_flag_rules (its type, category, severity
        and thresholds; a test keeps the two equal), a rule in fct_account_health_flags_daily
        and, in health_flag_requirements(), the data it needs beyond the required raw tables. -#}
    {{ return([
        'core_feature_unused', 'declining_usage', 'license_waste', 'single_user_dependency',
        'champion_left', 'executive_sponsor_missing', 'critical_tickets_open', 'late_payment',
        'failed_payment', 'contraction', 'renewal_at_risk',
        'expanding_usage', 'cross_team_adoption', 'advanced_feature_use', 'seats_near_limit',
        'promoter_nps', 'tickets_decreasing',
    ]) }}
{% endmacro %}

{% macro health_flag_requirements() %}
    {#- What each flag needs beyond the required raw tables, as names of the checks in
        health_data_requirements(). A flag whose check fails in a deployment is not
        evaluated (null, never false) and int_health_flag_availability says what is missing. -#}
    {%- set features = ['product.features', 'product.feature_usage_daily'] -%}
    {%- set stakeholders = ['crm.stakeholder_events'] -%}
    {%- set tickets = ['support.tickets'] -%}
    {{ return({
        'core_feature_unused': features + ['product.features.core_value_driving'],
        'champion_left': stakeholders,
        'executive_sponsor_missing': stakeholders,
        'critical_tickets_open': tickets,
        'late_payment': ['billing.invoices'],
        'failed_payment': ['billing.payments'],
        'cross_team_adoption': ['product.users.team'],
        'advanced_feature_use': features + ['product.features.advanced'],
        'promoter_nps': ['surveys.survey_responses.nps'],
        'tickets_decreasing': tickets,
    }) }}
{% endmacro %}

{% macro expansion_signal_requirements() %}
    {#- What each expansion signal (seed expansion_signals) needs beyond the required raw
        tables; an unavailable signal earns no points and leaves the score's denominator. -#}
    {{ return({
        'teams_growing': ['product.users.team'],
        'features_growing': ['product.features', 'product.feature_usage_daily'],
    }) }}
{% endmacro %}

{% macro expansion_signals() %}
    {#- The signals of the expansion score, in display order; each has one row in the seed
        expansion_signals (its part, points and thresholds; a test keeps the two equal) and a
        value in fct_account_expansion_daily. -#}
    {{ return(['healthy_score', 'seats_near_limit', 'usage_growing', 'teams_growing', 'features_growing']) }}
{% endmacro %}
