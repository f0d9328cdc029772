{% macro incremental_recompute_from(extra_days=0) %}
    {#- For an incremental model of account-days: the first score date an incremental run
        recomputes, as a SQL expression. That is incremental_lookback_days (late-arriving
        data) plus `extra_days` before the last score date the model already holds; or
        before the first one when an optional raw table the model reads became available
        or not available since its last build (its whole history changes). -#}
    {%- set days_back = var('incremental_lookback_days') + extra_days -%}
    {%- if incremental_inputs_changed() -%}
        {%- if extra_days == 0 -%}
            {{ log(this.identifier ~ ': an optional raw table it reads became available or not available since its last build; recomputing every day', info=true) }}
        {%- endif -%}
        (select {{ add_days(-days_back, 'min(score_date)') }} from {{ this }})
    {%- else -%}
        (select {{ add_days(-days_back, 'max(score_date)') }} from {{ this }})
    {%- endif -%}
{%- endmacro %}
