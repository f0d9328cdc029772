{% macro churn_model_candidate_features() %}
    {#- The columns of int_churn_model_inputs_daily a churn model may use: every scored
        signal, the rules score and the account's context. Var churn_model_features picks
        from these. -#}
    {%- set features = [
        'health_score', 'key_events_30d', 'active_users_30d', 'user_days_30d',
        'account_age_days', 'arr', 'licensed_seats', 'renews_within_horizon'] -%}
    {%- for signals in health_signals().values() -%}
        {%- do features.extend(signals) -%}
    {%- endfor -%}
    {{ return(features) }}
{% endmacro %}

{% macro churn_model_features() %}
    {#- The features of the churn model (var churn_model_features), plus the two the
        back-test's comparison models use (the rules score and the 30-day key events). -#}
    {%- set features = var('churn_model_features') | list -%}
    {%- for extra in ['health_score', 'key_events_30d'] -%}
        {%- if extra not in features -%}{%- do features.append(extra) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(features) }}
{% endmacro %}
