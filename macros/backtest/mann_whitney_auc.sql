{% macro mann_whitney_auc(relation, group_columns, value_column, observations_column, positives_column) %}
    {#- A select of one row per group: observations, positives and the AUC of the value
        (lower value = higher risk) in its rank (Mann-Whitney) form: the share of
        (positive, negative) pairs in which the positive has the lower value, ties counting
        one half. `relation` holds one row per group and distinct value, with the number of
        observations and of positives at that value; a running sum over the values sorted
        from the highest gives each value the negatives above it, so no pair is built. The
        AUC is null when a group has no positive or no negative. -#}
    {%- set partition = group_columns | join(', ') %}
    select
        {{ partition }},
        cast(sum(observations) as bigint) as observations,
        cast(sum(positives) as bigint) as positives,
        case
            when sum(positives) > 0 and sum(observations - positives) > 0
                then (
                    cast(sum(positives * negatives_above) as double)
                    + 0.5 * cast(sum(positives * (observations - positives)) as double)
                ) / (cast(sum(positives) as double) * cast(sum(observations - positives) as double))
        end as auc
    from (
        select
            {{ partition }},
            {{ observations_column }} as observations,
            {{ positives_column }} as positives,
            coalesce(sum({{ observations_column }} - {{ positives_column }}) over (
                partition by {{ partition }}
                order by {{ value_column }} desc
                rows between unbounded preceding and 1 preceding
            ), 0) as negatives_above
        from {{ relation }}
    ) as values_ranked
    group by {{ partition }}
{% endmacro %}
