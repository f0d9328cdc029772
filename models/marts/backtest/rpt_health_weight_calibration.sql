{#- Suggested weights per segment and category, next to the current ones (report only: no
    score reads this): the candidate weight set with the best churn AUC on the fit as-of
    dates, and how it and the current weights rank churn on the held-out later dates. -#}
{%- set categories = health_categories() -%}

with candidates as (

    select * from {{ ref('rpt_health_weight_candidates') }}

),

candidate_counts as (

    select
        segment,
        cast(count(*) as bigint) as candidate_count
    from candidates
    where not is_current
    group by segment

),

score_categories as (

    select category_id
    from {{ literal_rows('categories', 'category_id', categories) }}

),

weight_sets as (

    select
        current_weights.segment,
        current_weights.current_weight_set,
        suggested_weights.candidate_id as suggested_candidate_id,
        {%- for category in categories %}
        current_weights.{{ category }}_weight as current_{{ category }}_weight,
        suggested_weights.{{ category }}_weight as suggested_{{ category }}_weight,
        {%- endfor %}
        {%- for measure in ['fit_auc', 'holdout_auc', 'auc'] %}
        current_weights.{{ measure }} as current_{{ measure }},
        suggested_weights.{{ measure }} as suggested_{{ measure }},
        {%- endfor %}
        current_weights.fit_observations,
        current_weights.fit_churned_observations,
        current_weights.holdout_observations,
        current_weights.holdout_churned_observations,
        candidate_counts.candidate_count
    from candidates as current_weights
    inner join candidate_counts
        on current_weights.segment = candidate_counts.segment
    left join candidates as suggested_weights
        on
            current_weights.segment = suggested_weights.segment
            and suggested_weights.fit_rank = 1
    where current_weights.is_current

),

final as (

    select
        weight_sets.segment,
        score_categories.category_id,
        weight_sets.current_weight_set,
        weight_sets.suggested_candidate_id,
        case score_categories.category_id
            {%- for category in categories %}
            when '{{ category }}' then weight_sets.current_{{ category }}_weight
            {%- endfor %}
        end as current_weight,
        case score_categories.category_id
            {%- for category in categories %}
            when '{{ category }}' then weight_sets.suggested_{{ category }}_weight
            {%- endfor %}
        end as suggested_weight,
        case score_categories.category_id
            {%- for category in categories %}
            when '{{ category }}'
                then weight_sets.suggested_{{ category }}_weight
                    - weight_sets.current_{{ category }}_weight
            {%- endfor %}
        end as weight_change,
        weight_sets.current_fit_auc,
        weight_sets.suggested_fit_auc,
        weight_sets.current_holdout_auc,
        weight_sets.suggested_holdout_auc,
        weight_sets.suggested_holdout_auc - weight_sets.current_holdout_auc as holdout_auc_gain,
        weight_sets.current_auc,
        weight_sets.suggested_auc,
        weight_sets.fit_observations,
        weight_sets.fit_churned_observations,
        weight_sets.holdout_observations,
        weight_sets.holdout_churned_observations,
        weight_sets.candidate_count
    from weight_sets
    cross join score_categories

)

-- monthly (tag `monthly`): the rows of the last build unless int_monthly_recompute says
-- this run recomputes them
{{ monthly_select('final') }}
