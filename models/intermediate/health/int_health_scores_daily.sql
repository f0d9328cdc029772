with category_scores as (

    select
        account_id,
        score_date,
        segment,
        {%- for category in health_categories() %}
        {{ category }}_score,
        {%- endfor %}
        lifecycle_stage
    from {{ ref('int_category_scores_daily') }}
    {%- if is_incremental() %}
    where score_date >= {{ incremental_recompute_date() }}
    {%- endif %}

),

weights as (

    select * from {{ ref('int_health_weights_resolved') }}

),

config as (

    select config_version from {{ ref('int_health_config') }}

),

-- one row: whether the deployment has data for any signal of each category
category_availability as (

    {{ availability_flags('category_id', health_categories()) }}

),

bands as (

    select
        band_id,
        cast(lower_bound as double) as lower_bound,
        cast(upper_bound as double) as upper_bound
    from {{ ref('health_bands') }}
    where lower_bound is not null

),

-- the weight of each category that has data (present) and of each the deployment has a
-- data source for (available); a category without data drops out
weighted as (

    select
        category_scores.*,
        {%- for category in health_categories() %}
        case
            when category_scores.{{ category }}_score is not null
                then weights.{{ category }}_weight
            else 0
        end as {{ category }}_present_weight,
        case
            when category_availability.{{ category }}__available
                then weights.{{ category }}_weight
            else 0
        end as {{ category }}_available_weight,
        {%- endfor %}
        weights.weight_set
    from category_scores
    cross join category_availability
    inner join weights
        on
            category_scores.segment = weights.segment
            and category_scores.lifecycle_stage = weights.lifecycle_stage

),

{%- set present_weight -%}
{%- for category in health_categories() %}weighted.{{ category }}_present_weight + {% endfor %}0
{%- endset %}
{%- set available_weight -%}
{%- for category in health_categories() %}weighted.{{ category }}_available_weight + {% endfor %}0
{%- endset %}

covered as (

    select
        weighted.*,
        {{ present_weight }} as present_weight,
        -- coverage: the share of the weight the deployment can fill that this account-day
        -- fills; categories without a data source in the deployment do not count
        case
            when {{ available_weight }} > 0
                then {{ round_half_up(
                    '(' ~ present_weight ~ ') / (' ~ available_weight ~ ')', 6, whole_digits=8
                ) }}
            else 0
        end as score_coverage
    from weighted

),

-- present weights are spread over the categories with data so they sum to 1
effective as (

    select
        covered.*,
        {%- for category in health_categories() %}
        case
            when covered.present_weight > 0
                then covered.{{ category }}_present_weight / covered.present_weight
        end as {{ category }}_effective_weight,
        case
            when covered.present_weight > 0
                then
                    covered.{{ category }}_present_weight / covered.present_weight
                    * covered.{{ category }}_score
        end as {{ category }}_weighted_score,
        {%- endfor %}
        covered.score_coverage >= {{ var('min_score_coverage') }}
        and covered.score_coverage > 0 as is_scored
    from covered

),

contributions as (

    select
        effective.*,
        {%- for category in health_categories() %}
        case
            when effective.is_scored then coalesce(effective.{{ category }}_weighted_score, 0)
        end as {{ category }}_contribution,
        {%- endfor %}
        effective.is_scored as has_score
    from effective

),

{%- set contribution_sum -%}
{%- for category in health_categories() %}contributions.{{ category }}_contribution + {% endfor %}0
{%- endset %}

scored as (

    select
        contributions.*,
        {{ round_half_up(contribution_sum, 1, whole_digits=8) }} as computed_health_score
    from contributions

),

final as (

    select
        scored.account_id,
        scored.score_date,
        scored.segment,
        scored.lifecycle_stage,
        scored.weight_set,
        config.config_version,
        coalesce(bands.band_id, 'insufficient_data') as computed_health_band,
        scored.computed_health_score,
        {%- for category in health_categories() %}
        scored.{{ category }}_score,
        scored.{{ category }}_effective_weight,
        scored.{{ category }}_contribution,
        {%- endfor %}
        scored.score_coverage
    from scored
    cross join config
    left join bands
        on {{ score_in_band('scored.computed_health_score', 'bands') }}

)

select * from final
