{#- The weights established accounts are scored with: per segment (the resolved set for the
    `established` stage) and for the portfolio (`all`: the default set's `established` rows,
    or its `all` rows). The back-test's weight calibration compares its suggestions with
    these. -#}
{%- set categories = health_categories() -%}

with resolved_weights as (

    select
        segment,
        lifecycle_stage,
        {%- for category in categories %}
        {{ category }}_weight,
        {%- endfor %}
        weight_set
    from {{ ref('int_health_weights_resolved') }}

),

default_weights as (

    select
        lifecycle_stage,
        category_id,
        cast(weight as double) as weight
    from {{ ref('health_score_weights') }}
    where segment = 'all' and lifecycle_stage in ('established', 'all')

),

-- `established` rows win over `all` rows (the order of the two names does that)
default_stage as (

    select max(lifecycle_stage) as lifecycle_stage
    from default_weights

),

final as (

    select
        segment as segment_group,
        {%- for category in categories %}
        {{ category }}_weight,
        {%- endfor %}
        weight_set
    from resolved_weights
    where lifecycle_stage = 'established'
    union all
    select
        'all' as segment_group,
        {%- for category in categories %}
        coalesce(max(
            case when default_weights.category_id = '{{ category }}' then default_weights.weight end
        ), 0) as {{ category }}_weight,
        {%- endfor %}
        {{ dbt.concat(["'all/'", 'max(default_weights.lifecycle_stage)']) }} as weight_set
    from default_weights
    inner join default_stage
        on default_weights.lifecycle_stage = default_stage.lifecycle_stage

)

select * from final
