{% test levels_tile_range(model, lower_column, upper_column, order_column, range_start, range_end) %}
{#- The rows are levels [lower, upper) that cover range_start .. range_end once: in
    order_column's order the first starts at range_start, each ends where the next starts,
    the last ends above range_end. Fails with the levels that break this. -#}

with levels as (

    select
        cast({{ lower_column }} as double) as lower_value,
        cast({{ upper_column }} as double) as upper_value,
        lead(cast({{ lower_column }} as double)) over (
            order by {{ order_column }}
        ) as next_lower_value,
        row_number() over (order by {{ order_column }}) as level_position,
        count(*) over () as level_count
    from {{ model }}

)

select *
from levels
where
    lower_value >= upper_value
    or (level_position = 1 and lower_value != {{ range_start }})
    or (level_position < level_count and upper_value != next_lower_value)
    or (level_position = level_count and upper_value <= {{ range_end }})

{% endtest %}
