with weights as (

    select
        segment,
        lifecycle_stage,
        category_id,
        cast(weight as double) as weight
    from {{ ref('health_score_weights') }}

),

segments as (

    select distinct segment from {{ ref('stg_crm__accounts') }}

),

lifecycle_stages as (

    {%- for stage in health_lifecycle_stages() %}
    select '{{ stage }}' as lifecycle_stage{{ ' union all' if not loop.last }}
    {%- endfor %}

),

-- every weight set that could apply to a segment and stage, with how specific it is:
-- segment and stage (3) > segment (2) > stage (1) > the default `all`/`all` (0)
candidate_weights as (

    select
        segments.segment,
        lifecycle_stages.lifecycle_stage,
        weights.segment as weight_segment,
        weights.lifecycle_stage as weight_lifecycle_stage,
        weights.category_id,
        weights.weight,
        case when weights.segment = segments.segment then 2 else 0 end as segment_specificity,
        case
            when weights.lifecycle_stage = lifecycle_stages.lifecycle_stage then 1 else 0
        end as stage_specificity
    from segments
    cross join lifecycle_stages
    inner join weights
        on
            (segments.segment = weights.segment or weights.segment = 'all')
            and (
                lifecycle_stages.lifecycle_stage = weights.lifecycle_stage
                or weights.lifecycle_stage = 'all'
            )

),

ranked_weights as (

    select
        *,
        segment_specificity + stage_specificity as specificity
    from candidate_weights

),

most_specific as (

    select
        segment,
        lifecycle_stage,
        max(specificity) as specificity
    from ranked_weights
    group by segment, lifecycle_stage

),

final as (

    select
        ranked_weights.segment,
        ranked_weights.lifecycle_stage,
        {{ dbt.concat([
            'max(ranked_weights.weight_segment)', "'/'",
            'max(ranked_weights.weight_lifecycle_stage)',
        ]) }} as weight_set,
        {%- for category in health_categories() %}
        coalesce(max(
            case
                when ranked_weights.category_id = '{{ category }}'
                    then ranked_weights.weight
            end
        ), 0) as {{ category }}_weight,
        {%- endfor %}
        count(*) as weighted_categories
    from ranked_weights
    inner join most_specific
        on
            ranked_weights.segment = most_specific.segment
            and ranked_weights.lifecycle_stage = most_specific.lifecycle_stage
            and ranked_weights.specificity = most_specific.specificity
    group by ranked_weights.segment, ranked_weights.lifecycle_stage

)

select * from final
