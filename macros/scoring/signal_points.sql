{% macro signal_points(value_column, signal, values_alias='signals', rules_alias='rules') %}
    {#- Points a signal earns under its rule in health_scoring_rules: 0 at or beyond
        `zero_points_at`, `max_points` at or beyond `full_points_at`, in a straight line
        between. The direction follows the thresholds (full_points_at below zero_points_at
        means lower is better). `value_column` holds the value the rule scores: the
        signal itself (basis `absolute`) or its cohort percentile (`cohort_percentile`).
        Null when it has no value (no data): the category then scores on its other
        signals. `rules_alias` is one row holding each signal's thresholds as
        <signal>__zero_at, <signal>__full_at and <signal>__max_points. -#}
    case
        when {{ values_alias }}.{{ value_column }} is null then null
        else {{ rules_alias }}.{{ signal }}__max_points * least(
            1.0,
            greatest(
                0.0,
                ({{ values_alias }}.{{ value_column }} - {{ rules_alias }}.{{ signal }}__zero_at)
                / ({{ rules_alias }}.{{ signal }}__full_at - {{ rules_alias }}.{{ signal }}__zero_at)
            )
        )
    end
{% endmacro %}
