-- Every weight set in health_score_weights names all five categories and sums to 1.
with weights as (

    select
        segment,
        lifecycle_stage,
        category_id,
        weight
    from {{ ref('health_score_weights') }}

),

weight_sets as (

    select
        segment,
        lifecycle_stage,
        count(distinct category_id) as category_count,
        sum(weight) as weight_total
    from weights
    group by segment, lifecycle_stage

)

select *
from weight_sets
where
    category_count != {{ health_categories() | length }}
    or abs(weight_total - 1) > 0.000001
    or not exists (
        select 1 as has_default from weights
        where weights.segment = 'all' and weights.lifecycle_stage = 'all'
    )
