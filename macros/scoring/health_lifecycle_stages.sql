{% macro health_lifecycle_stages() %}
    {#- Lifecycle stages an account-day can be in (see int_account_days). -#}
    {{ return(['onboarding', 'established', 'renewal']) }}
{% endmacro %}
