{% macro top_risk_counts(relation, group_columns, value_column, label_column, tiebreak_columns, share) %}
    {#- A select of one row per group: the observations with the lowest values (the
        riskiest), ceil(share x non-null observations) of them, and how many of those carry
        the label. Ties at the cut are broken by `tiebreak_columns`, so every engine picks
        the same rows; the share is cast to a decimal, so the cut is decimal arithmetic on
        every engine. -#}
    {%- set partition = group_columns | join(', ') %}
    select
        {{ partition }},
        cast(count(*) as bigint) as top_risk_observations,
        cast(sum(case when label_value then 1 else 0 end) as bigint) as top_risk_positives
    from (
        select
            {{ partition }},
            {{ label_column }} as label_value,
            row_number() over (
                partition by {{ partition }}
                order by {{ value_column }}, {{ tiebreak_columns | join(', ') }}
            ) as risk_rank,
            count(*) over (partition by {{ partition }}) as group_observations
        from {{ relation }}
        where {{ value_column }} is not null
    ) as observations_ranked
    where risk_rank <= ceil(group_observations * cast({{ share }} as decimal(12, 6)))
    group by {{ partition }}
{% endmacro %}
