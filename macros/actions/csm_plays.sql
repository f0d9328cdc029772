{% macro csm_play_trigger_types() %}
    {#- The kinds of trigger a play of the seed csm_plays can have, and what its
        trigger_value names: a band of health_bands, nothing (the score-drop alert's vars), a
        flag of health_flag_rules, an expansion level of expansion_levels, a risk level of
        churn_risk_levels. int_csm_play_events computes each; a test keeps the seed's values
        to these. -#}
    {{ return(['band_entry', 'score_drop', 'red_flag', 'expansion_ready', 'churn_risk']) }}
{% endmacro %}

{% macro csm_play_success_metrics() %}
    {#- The success metrics a play can have, with the trigger type each needs (none: any).
        band_improved: the band is better than the trigger's; score_recovered: the score is at
        least success_value points above its value on the trigger day; flag_cleared: the
        trigger's flag no longer holds; risk_reduced: the churn risk level is below the
        trigger's; renewed / expanded: the account renews / expands; recorded_done: only the
        CSM's recorded completion closes the action as done. -#}
    {{ return({
        'band_improved': 'band_entry',
        'score_recovered': none,
        'flag_cleared': 'red_flag',
        'risk_reduced': 'churn_risk',
        'renewed': none,
        'expanded': none,
        'recorded_done': none,
    }) }}
{% endmacro %}

{% macro csm_play_max_expire_days() %}
    {#- The longest expire_days of the playbook (the seed csm_plays), read when the model
        runs: how far back an incremental run recomputes the plays' triggers, since an action
        opened that long ago can still close. -#}
    {%- if not execute -%}
        {{ return(0) }}
    {%- endif -%}
    {%- set found = run_query('select max(expire_days) from ' ~ ref('csm_plays')) -%}
    {%- set value = found.columns[0].values()[0] -%}
    {{ return((value or 0) | int) }}
{% endmacro %}

{% macro pipe_list_contains(list_expression, value_expression) %}
    {#- Whether the `|`-separated list `list_expression` (e.g. `a|b`) holds the value
        `value_expression` exactly; false for a null or empty list. -#}
    coalesce({{ dbt.position(
        "'|' || " ~ value_expression ~ " || '|'", "'|' || " ~ list_expression ~ " || '|'"
    ) }} > 0, false)
{%- endmacro %}

{% macro earliest_date(first_expression, second_expression) %}
    {#- The earlier of two dates, ignoring a null one (null when both are null). -#}
    case
        when ({{ first_expression }}) is null then ({{ second_expression }})
        when ({{ second_expression }}) is null then ({{ first_expression }})
        when ({{ first_expression }}) <= ({{ second_expression }}) then ({{ first_expression }})
        else ({{ second_expression }})
    end
{%- endmacro %}

{% macro csm_actions_kept_before(announce=true) %}
    {#- fct_csm_actions (a table rebuilt at each run): the day, as a date literal, before
        which the actions its last build closed are kept, the first trigger day
        int_csm_play_events recomputed in its builds since (recorded_upstream_window_start).
        None, and every trigger is chained again: on Spark, on --full-refresh, in a unit
        test, without a last build, or when int_csm_play_events was rebuilt whole since. -#}
    {%- if not execute or target.type == 'spark' or flags.FULL_REFRESH
        or model.resource_type == 'unit_test' or load_relation(this) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set kept_before = recorded_upstream_window_start('int_csm_play_events') -%}
    {%- if kept_before and announce -%}
        {{ log(this.identifier ~ ': keeping the actions closed before ' ~ kept_before.strftime('%Y-%m-%d') ~ '; chaining the triggers after them', info=true) }}
    {%- endif -%}
    {{ return(date_literal(kept_before)) }}
{% endmacro %}

{% macro record_csm_actions_window() %}
    {#- Pre-hook of fct_csm_actions (not on Spark): records its build in recompute_windows
        with the day before which it kept its last build's closed actions (null: it chained
        every trigger), so the next build knows which trigger days changed since. -#}
    {%- if not execute or target.type == 'spark' -%}
        {{ return('') }}
    {%- endif -%}
    {{ return(_window_record('opened_date', csm_actions_kept_before(announce=false))) }}
{% endmacro %}
