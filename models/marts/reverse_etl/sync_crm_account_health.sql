-- The CRM sync's payload: one row per scored account holding only the allow-listed fields
-- (`customer-health sync` sends each column as the HubSpot company property of the same name).
-- No names, owners, ARR or other personal or commercial data leave the warehouse this way.
with account_health as (

    select
        account_id,
        health_band,
        trend,
        tree_outcome_id,
        tree_recommended_action,
        health_score,
        score_change_30d,
        {%- for category in health_categories() %}
        {{ category }}_score,
        {%- endfor %}
        churn_probability_90d,
        churn_risk_level,
        churn_risk_factors,
        red_flag_count,
        new_red_flag_count,
        red_flags,
        green_light_count,
        green_lights,
        expansion_level,
        expansion_extra_seats,
        expansion_signals,
        score_date
    from {{ ref('dim_account_health') }}

),

final as (

    select
        account_id as health_account_id,
        health_band,
        trend as health_trend,
        tree_outcome_id as health_tree_outcome,
        tree_recommended_action as health_recommended_action,
        {{ round_half_up('health_score', 1) }} as health_score,
        {{ round_half_up('score_change_30d', 1) }} as health_score_change_30d,
        {%- for category in health_categories() %}
        {{ round_half_up(category ~ '_score', 1) }} as health_{{ category }}_score,
        {%- endfor %}
        {{ round_half_up('100 * churn_probability_90d', 1) }} as health_churn_probability_90d,
        churn_risk_level as health_churn_risk_level,
        churn_risk_factors as health_churn_risk_factors,
        red_flag_count as health_red_flag_count,
        new_red_flag_count as health_new_red_flag_count,
        red_flags as health_red_flags,
        green_light_count as health_green_light_count,
        green_lights as health_green_lights,
        expansion_level as health_expansion_level,
        expansion_extra_seats as health_expansion_seats,
        expansion_signals as health_expansion_signals,
        score_date as health_as_of_date
    from account_health

)

select * from final
