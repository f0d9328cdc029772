-- The churn risk levels cover every probability once: the first starts at 0, each ends
-- where the next starts, the last ends above 1. Returns the levels that break this.
with levels as (

    select
        risk_level,
        cast(min_probability as double) as min_probability,
        cast(max_probability as double) as max_probability,
        lead(cast(min_probability as double)) over (order by level_rank) as next_min_probability,
        row_number() over (order by level_rank) as level_position,
        count(*) over () as level_count
    from {{ ref('churn_risk_levels') }}

)

select *
from levels
where
    min_probability >= max_probability
    or (level_position = 1 and min_probability != 0)
    or (level_position < level_count and max_probability != next_min_probability)
    or (level_position = level_count and max_probability <= 1)
