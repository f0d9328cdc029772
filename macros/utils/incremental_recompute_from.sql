{% macro incremental_recompute_from(extra_days=0, date_column='score_date', announce=none) %}
    {#- For an incremental model of account-days: the first score date an incremental run
        recomputes, as a SQL expression. That is incremental_lookback_days (late-arriving
        data) plus `extra_days` before the last score date the model already holds; or
        before the first one when an optional raw table the model reads became available
        or not available since its last build (its whole history changes). `date_column`
        names the model's day column. The recomputation of the whole history is logged once
        per model: by the call with extra_days 0, or the one with `announce` true. -#}
    {%- set days_back = var('incremental_lookback_days') + extra_days -%}
    {%- set announced = (extra_days == 0) if announce is none else announce -%}
    {%- if incremental_inputs_changed() -%}
        {%- if announced -%}
            {{ log(this.identifier ~ ': an optional raw table it reads became available or not available since its last build; recomputing every day', info=true) }}
        {%- endif -%}
        (select {{ add_days(-days_back, 'min(' ~ date_column ~ ')') }} from {{ this }})
    {%- else -%}
        (select {{ add_days(-days_back, 'max(' ~ date_column ~ ')') }} from {{ this }})
    {%- endif -%}
{%- endmacro %}

{% macro incremental_recompute_date(extra_days=0, date_column='score_date', announce=none) %}
    {#- incremental_recompute_from() evaluated once when the model runs, as a date literal. A
        model that filters a view's days with it lets the engine push the filter into the
        tables under the view, which a subquery's value does not reach. -#}
    {%- if not execute -%}
        {{ return(incremental_recompute_from(extra_days, date_column, announce)) }}
    {%- endif -%}
    {%- set found = run_query('select ' ~ incremental_recompute_from(extra_days, date_column, announce) ~ ' as recompute_from') -%}
    {%- set value = found.columns[0].values()[0] -%}
    {%- if value is none -%}
        {{ return(incremental_recompute_from(extra_days, date_column, announce)) }}
    {%- endif -%}
    {{ return(date_literal(value)) }}
{% endmacro %}
