{% macro churn_model_contributions(relation, key_columns, date_column, features, model_names) %}
    {#- A select of the scorecard applied to `relation` (one row per `key_columns`, with a
        column per feature): one row per key, model and feature of the model version in
        force on `date_column` (the latest version dated on or before it), with the
        feature's value and the points of the bin it falls in (0 for a bin no training row fell
        in). A feature the version has no bins for has no row: it adds nothing. Intercepts
        come as feature `(intercept)`. Keys without a version in force have no rows. The
        relation is read once: each row is repeated per feature by a join to the list of
        feature names. -#}
    select
        {%- for key in key_columns %}
        feature_values.{{ key }},
        {%- endfor %}
        feature_values.model_name,
        feature_values.model_version,
        feature_values.feature_name,
        feature_values.feature_value,
        bins.points
    from (
        select
            {%- for key in key_columns %}
            rows_in.{{ key }},
            {%- endfor %}
            versions.model_name,
            versions.model_version,
            feature_names.feature_name,
            case feature_names.feature_name
                {%- for feature in features %}
                when '{{ feature }}' then cast(rows_in.{{ feature }} as double)
                {%- endfor %}
            end as feature_value
        from {{ relation }} as rows_in
        inner join (
            select
                model_name,
                model_version,
                lead(model_version) over (
                    partition by model_name order by model_version
                ) as next_version
            from {{ ref('rpt_churn_model_scorecard') }}
            where
                feature_name = '(intercept)'
                and model_name in ({{ "'" ~ model_names | join("', '") ~ "'" }})
        ) as versions
            on
                rows_in.{{ date_column }} >= versions.model_version
                and (
                    versions.next_version is null
                    or rows_in.{{ date_column }} < versions.next_version
                )
        cross join {{ literal_rows('feature_names', 'feature_name', features + ['(intercept)']) }}
    ) as feature_values
    -- each feature of a version has bins covering every value and "no value": exactly one
    -- matches (a feature the version has no bins for matches none and adds nothing)
    inner join {{ ref('rpt_churn_model_scorecard') }} as bins
        on
            feature_values.model_name = bins.model_name
            and feature_values.model_version = bins.model_version
            and feature_values.feature_name = bins.feature_name
    where
        feature_values.feature_name = '(intercept)'
        or (bins.is_missing_bin and feature_values.feature_value is null)
        or (
            not bins.is_missing_bin
            and feature_values.feature_value is not null
            and (bins.lower_bound is null or feature_values.feature_value >= bins.lower_bound)
            and (bins.upper_bound is null or feature_values.feature_value < bins.upper_bound)
        )
{%- endmacro %}
