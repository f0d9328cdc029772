{% macro signal_rule_columns(rules_relation) %}
    {#- One row with the thresholds of every signal in health_signals() taken from the
        health_scoring_rules seed, as <signal>__zero_at / __full_at / __max_points, and
        <signal>__relative (scored by its cohort percentile). -#}
    select
        {%- for category, signals in health_signals().items() %}
        {%- set outer_last = loop.last %}
        {%- for signal in signals %}
        max(case when signal_name = '{{ signal }}' then cast(zero_points_at as double) end) as {{ signal }}__zero_at,
        max(case when signal_name = '{{ signal }}' then cast(full_points_at as double) end) as {{ signal }}__full_at,
        max(case when signal_name = '{{ signal }}' then cast(max_points as double) end) as {{ signal }}__max_points,
        coalesce(max(
            case when signal_name = '{{ signal }}' then scoring_basis = 'cohort_percentile' end
        ), false) as {{ signal }}__relative{{ ',' if not (outer_last and loop.last) }}
        {%- endfor %}
        {%- endfor %}
    from {{ rules_relation }}
{% endmacro %}
