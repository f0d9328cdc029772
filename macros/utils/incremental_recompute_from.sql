{% macro incremental_recompute_from(extra_days=0) %}
    {#- For an incremental model of account-days: the first score date an incremental run
        recomputes, as a SQL expression. That is incremental_lookback_days (late-arriving
        data) plus `extra_days` before the last score date the model already holds. -#}
    {%- set days_back = var('incremental_lookback_days') + extra_days -%}
    (select {{ add_days(-days_back, 'max(score_date)') }} from {{ this }})
{%- endmacro %}
