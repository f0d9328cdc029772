{% macro health_signals() %}
    {#- The scored signals of each category, in display order. Each is a column of
        int_<category>_signals_daily and has one row in the seed health_scoring_rules
        (a test keeps the two equal); health_signal_requirements() says what data each
        needs beyond the required raw tables. -#}
    {{ return({
        'usage': [
            'seat_utilisation_rate', 'value_feature_day_rate', 'active_day_rate',
            'usage_trend_rate', 'active_user_count', 'user_days_per_active_user',
            'key_events_per_active_user', 'key_events_per_active_day'],
        'adoption': [
            'seat_activation_rate', 'feature_breadth_rate', 'active_role_count',
            'active_team_count', 'integration_count'],
        'lifecycle': [
            'milestone_on_schedule_rate', 'overdue_milestone_count', 'days_to_first_value'],
        'support': [
            'open_ticket_count', 'aged_open_ticket_count', 'high_severity_open_ticket_count',
            'escalated_ticket_count', 'avg_resolution_days', 'avg_ticket_satisfaction_score',
            'latest_nps_score', 'latest_csat_score'],
        'commercial': [
            'days_to_renewal', 'overdue_invoice_count', 'failed_payment_count',
            'arr_change_rate', 'sponsor_departure_count', 'active_sponsor_count'],
    }) }}
{% endmacro %}

{% macro health_signal_requirements() %}
    {#- What each signal needs beyond the required raw tables (accounts, contracts, users,
        user_activity_daily), as names of the checks in health_data_requirements(). A signal
        whose requirement is not met in a deployment is not available: it is null on every
        day and earns no points, and its category's weight is spread over the others. -#}
    {%- set features = ['product.features', 'product.feature_usage_daily'] -%}
    {%- set tickets = ['support.tickets'] -%}
    {%- set surveys = ['surveys.survey_responses'] -%}
    {%- set milestones = ['crm.onboarding_milestones'] -%}
    {{ return({
        'value_feature_day_rate': features,
        'feature_breadth_rate': features,
        'active_role_count': ['product.users.user_role'],
        'active_team_count': ['product.users.team'],
        'integration_count': features + ['product.features.integration'],
        'milestone_on_schedule_rate': milestones,
        'overdue_milestone_count': milestones,
        'days_to_first_value': milestones,
        'open_ticket_count': tickets,
        'aged_open_ticket_count': tickets,
        'high_severity_open_ticket_count': tickets,
        'escalated_ticket_count': tickets,
        'avg_resolution_days': tickets,
        'avg_ticket_satisfaction_score': tickets,
        'latest_nps_score': surveys,
        'latest_csat_score': surveys,
        'overdue_invoice_count': ['billing.invoices'],
        'failed_payment_count': ['billing.payments'],
        'sponsor_departure_count': ['crm.stakeholder_events'],
        'active_sponsor_count': ['crm.stakeholder_events'],
    }) }}
{% endmacro %}

{% macro health_data_requirements() %}
    {#- The checks behind health_signal_requirements(): name -> (the staged model it reads,
        a true/false aggregate over its rows, what it means in words). An optional raw table
        counts as present when it has at least one accepted row. -#}
    {{ return({
        'product.features': ('stg_product__features', 'count(*) > 0',
            'the feature catalog (raw table product.features)'),
        'product.feature_usage_daily': ('stg_product__feature_usage_daily', 'count(*) > 0',
            'daily feature usage (raw table product.feature_usage_daily)'),
        'product.features.core_value_driving': ('stg_product__features',
            "sum(case when is_value_driving and feature_category = 'core' then 1 else 0 end) > 0",
            'value-driving core features in the feature catalog (feature_category core, is_value_driving true)'),
        'product.features.advanced': ('stg_product__features',
            "sum(case when feature_category = 'advanced' then 1 else 0 end) > 0",
            'advanced features in the feature catalog (feature_category advanced)'),
        'product.features.integration': ('stg_product__features',
            'sum(case when is_integration then 1 else 0 end) > 0',
            'integration features in the feature catalog (feature_category integration)'),
        'product.users.user_role': ('stg_product__users', 'count(distinct user_role) >= 2',
            'two or more user roles (users.user_role)'),
        'product.users.team': ('stg_product__users',
            "sum(case when team != 'Unknown' then 1 else 0 end) > 0",
            'teams on users (users.team)'),
        'crm.onboarding_milestones': ('stg_crm__onboarding_milestones', 'count(*) > 0',
            'onboarding milestones (raw table crm.onboarding_milestones)'),
        'crm.stakeholder_events': ('stg_crm__stakeholder_events', 'count(*) > 0',
            'champion and sponsor changes (raw table crm.stakeholder_events)'),
        'support.tickets': ('stg_support__tickets', 'count(*) > 0',
            'support tickets (raw table support.tickets)'),
        'surveys.survey_responses': ('stg_surveys__survey_responses', 'count(*) > 0',
            'NPS and CSAT surveys (raw table surveys.survey_responses)'),
        'surveys.survey_responses.nps': ('stg_surveys__survey_responses',
            "sum(case when survey_type = 'nps' then 1 else 0 end) > 0",
            'NPS answers (survey_responses with survey_type nps)'),
        'billing.invoices': ('stg_billing__invoices', 'count(*) > 0',
            'invoices (raw table billing.invoices)'),
        'billing.payments': ('stg_billing__payments', 'count(*) > 0',
            'payment attempts (raw table billing.payments)'),
    }) }}
{% endmacro %}
