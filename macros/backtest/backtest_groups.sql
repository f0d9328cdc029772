{% macro backtest_groups(relation) %}
    {#- Every row of a back-test relation four times: in its own as-of date and in
        `overall` (`period`; `period_as_of_date` is null for `overall`), each within its own
        segment and within `all` (`segment_group`). Aggregating by period and segment_group
        then gives the per-date, overall, per-segment and portfolio figures in one pass. -#}
    select
        case
            when period_groups.is_overall then 'overall'
            else cast(observations.as_of_date as {{ dbt.type_string() }})
        end as period,
        case when segment_groups.is_all then 'all' else observations.segment end as segment_group,
        case when not period_groups.is_overall then observations.as_of_date end as period_as_of_date,
        observations.*
    from {{ relation }} as observations
    cross join {{ literal_rows('period_groups', 'is_overall', [true, false]) }}
    cross join {{ literal_rows('segment_groups', 'is_all', [true, false]) }}
{% endmacro %}
