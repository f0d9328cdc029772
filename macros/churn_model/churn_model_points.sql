{% macro churn_model_points(relation, key_columns, date_column, features, model_names) %}
    {#- A select of the scorecard applied to `relation` (one row per `key_columns`, with a
        column per feature): one row per key and model of the version in force on
        `date_column` (the latest version dated on or before it). Per feature it gives
        `<feature>__value` (the value as a double) and `<feature>__points` (the points of
        the bin the value falls in; null when the version has no bin for it: the feature
        adds nothing), and `intercept_points`; macro churn_model_log_odds adds them up.
        Keys without a version in force have no rows.
        The scorecard is pivoted to one row per version (macro churn_model_version_bins), so
        each row of `relation` is read once and scored by column expressions: no row per
        feature and no join to the bins. -#}
    {%- set slots = range(var('churn_model_max_bins') | int) -%}
    select
        {%- for key in key_columns %}
        rows_in.{{ key }},
        {%- endfor %}
        versions.model_name,
        versions.model_version,
        {%- for feature in features %}
        cast(rows_in.{{ feature }} as double) as {{ feature }}__value,
        case
            when rows_in.{{ feature }} is null then versions.{{ feature }}__missing_points
            {%- for slot in slots %}
            when
                versions.{{ feature }}__has_{{ slot }}
                and (
                    versions.{{ feature }}__lower_{{ slot }} is null
                    or cast(rows_in.{{ feature }} as double) >= versions.{{ feature }}__lower_{{ slot }}
                )
                and (
                    versions.{{ feature }}__upper_{{ slot }} is null
                    or cast(rows_in.{{ feature }} as double) < versions.{{ feature }}__upper_{{ slot }}
                )
                then versions.{{ feature }}__points_{{ slot }}
            {%- endfor %}
        end as {{ feature }}__points,
        {%- endfor %}
        versions.intercept_points
    from {{ relation }} as rows_in
    -- the version in force on each day of the relation: a range join of the few distinct
    -- days, then an equality join of the rows
    inner join (
        select
            version_days.version_day,
            version_bins.*
        from (select distinct {{ date_column }} as version_day from {{ relation }}) as version_days
        inner join ({{ churn_model_version_bins(features, model_names) }}) as version_bins
            on
                version_days.version_day >= version_bins.model_version
                and (
                    version_bins.next_version is null
                    or version_days.version_day < version_bins.next_version
                )
    ) as versions
        on rows_in.{{ date_column }} = versions.version_day
{%- endmacro %}


{% macro churn_model_log_odds(points_alias, features) -%}
    {#- The log-odds of a row of macro churn_model_points: the intercept, then each feature's
        points in `features` order (a feature without points adds nothing). -#}
    {{ points_alias }}.intercept_points
    {%- for feature in features %}
    + coalesce({{ points_alias }}.{{ feature }}__points, 0)
    {%- endfor %}
{%- endmacro %}


{% macro churn_model_version_bins(features, model_names) %}
    {#- One row per model and version of rpt_churn_model_scorecard, with `next_version`, the
        intercept's points and, per feature and bin slot 0 .. var churn_model_max_bins - 1:
        `<feature>__has_<slot>` (the version has that bin), its bounds and points, plus
        `<feature>__missing_points` (the "no value" bin's points). The scorecard's test
        churn_model_bins_fit_their_slots fails on a bin beyond the slots. -#}
    {%- set slots = range(var('churn_model_max_bins') | int) -%}
    select
        model_name,
        model_version,
        lead(model_version) over (partition by model_name order by model_version) as next_version,
        {%- for feature in features %}
        {%- set is_feature = "feature_name = '" ~ feature ~ "'" %}
        max(case when {{ is_feature }} and is_missing_bin then points end)
            as {{ feature }}__missing_points,
        {%- for slot in slots %}
        {%- set in_slot = is_feature ~ " and not is_missing_bin and bin_number = " ~ slot %}
        max(case when {{ in_slot }} then 1 else 0 end) = 1 as {{ feature }}__has_{{ slot }},
        max(case when {{ in_slot }} then lower_bound end) as {{ feature }}__lower_{{ slot }},
        max(case when {{ in_slot }} then upper_bound end) as {{ feature }}__upper_{{ slot }},
        max(case when {{ in_slot }} then points end) as {{ feature }}__points_{{ slot }},
        {%- endfor %}
        {%- endfor %}
        max(case when feature_name = '(intercept)' then points end) as intercept_points
    from {{ ref('rpt_churn_model_scorecard') }}
    where model_name in ({{ "'" ~ model_names | join("', '") ~ "'" }})
    group by model_name, model_version
{%- endmacro %}


{% macro churn_model_factor_points(rank, features) -%}
    {#- The points of risk factor `rank` (1, 2, 3) of a row of macro churn_model_points with
        columns risk_factor_<earlier rank> for the earlier picks: the highest points above 0
        among the features not picked yet; null when none is left. -#}
    {%- set candidates = [] -%}
    {%- for feature in features | sort -%}
        {%- set conditions = [feature ~ '__points > 0'] -%}
        {%- for earlier in range(1, rank) -%}
            {%- do conditions.append('risk_factor_' ~ earlier ~ " <> '" ~ feature ~ "'") -%}
        {%- endfor -%}
        {%- do candidates.append(
            'case when ' ~ conditions | join(' and ') ~ ' then ' ~ feature ~ '__points end'
        ) -%}
    {%- endfor -%}
    {{ greatest_of(candidates) }}
{%- endmacro %}


{% macro churn_model_factor_name(rank, features) -%}
    {#- The feature of risk factor `rank`: the first by name, among those not picked yet, whose
        points equal risk_factor_<rank>_points. -#}
    case
        {%- for feature in features | sort %}
        when {{ feature }}__points = risk_factor_{{ rank }}_points
            {%- for earlier in range(1, rank) %}
            and risk_factor_{{ earlier }} <> '{{ feature }}'
            {%- endfor %}
            then '{{ feature }}'
        {%- endfor %}
    end
{%- endmacro %}


{% macro churn_model_factor_value(rank, features, alias) -%}
    {#- The value of the feature picked as risk factor `rank`. -#}
    case {{ alias }}.risk_factor_{{ rank }}
        {%- for feature in features | sort %}
        when '{{ feature }}' then {{ alias }}.{{ feature }}__value
        {%- endfor %}
    end
{%- endmacro %}


{% macro churn_model_factor_text(rank, alias) -%}
    {#- Risk factor `rank` of `alias` (columns risk_factor_<rank>, _value and _points) in
        words: `<feature> = <value, 2 decimals or none> (+<points>)`; null when there is
        no such factor. -#}
    {%- set text = dbt.type_string() -%}
    {{ alias }}.risk_factor_{{ rank }} || ' = '
    || coalesce(
        cast(cast(round({{ alias }}.risk_factor_{{ rank }}_value, 2) as decimal(20, 2)) as {{ text }}),
        'none'
    )
    || ' (+'
    || cast(cast(round({{ alias }}.risk_factor_{{ rank }}_points, 2) as decimal(10, 2)) as {{ text }})
    || ')'
{%- endmacro %}
