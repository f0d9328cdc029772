{% macro health_signals() %}
    {#- The scored signals of each category, in display order. Each is a column of
        int_<category>_signals_daily and has one row in the seed health_scoring_rules
        (a test keeps the two equal). -#}
    {{ return({
        'usage': [
            'seat_utilisation_rate', 'value_feature_day_rate', 'active_day_rate',
            'usage_trend_rate'],
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
