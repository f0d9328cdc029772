-- Scored bands start at 0, each ends where the next begins, and only the top one is open-ended.
with bands as (

    select
        band_id,
        lower_bound,
        upper_bound
    from {{ ref('health_bands') }}
    where lower_bound is not null or upper_bound is not null

),

ordered as (

    select
        band_id,
        lower_bound,
        upper_bound,
        lead(lower_bound) over (order by lower_bound) as next_lower_bound,
        row_number() over (order by lower_bound) as band_number,
        count(*) over () as band_count
    from bands

)

select *
from ordered
where
    lower_bound is null
    or (band_number = 1 and lower_bound != 0)
    or (upper_bound is not null and upper_bound <= lower_bound)
    or (band_number < band_count and (upper_bound is null or upper_bound != next_lower_bound))
    or (band_number = band_count and upper_bound is not null and upper_bound <= 100)
