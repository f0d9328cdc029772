{#- The scoring settings that change a score, besides the seeds. -#}
{%- set scoring_vars = [
    'usage_window_days', 'support_window_days', 'stakeholder_window_days', 'payment_window_days',
    'survey_max_age_days', 'ticket_aging_days', 'milestone_grace_days', 'onboarding_max_days',
    'renewal_window_days', 'min_score_coverage', 'trend_threshold_points', 'nps_satisfied_min',
    'csat_satisfied_min', 'usage_trend_prior_user_days', 'cohort_dimensions', 'cohort_size_bands',
    'cohort_tenure_band_days', 'cohort_min_accounts',
] -%}
{%- set settings_hash = dbt.hash(
    dbt.listagg('setting_line', "';'", 'order by setting_line')
) -%}

with weights as (

    select
        segment,
        lifecycle_stage,
        category_id,
        weight
    from {{ ref('health_score_weights') }}

),

rules as (

    select
        category_id,
        signal_name,
        scoring_basis,
        zero_points_at,
        full_points_at,
        max_points
    from {{ ref('health_scoring_rules') }}

),

bands as (

    select
        band_id,
        lower_bound,
        upper_bound
    from {{ ref('health_bands') }}

),

setting_lines as (

    select
        {{ dbt.concat([
            "'weight|'", 'segment', "'|'", 'lifecycle_stage', "'|'", 'category_id', "'|'",
            'cast(cast(weight as decimal(12, 6)) as ' ~ dbt.type_string() ~ ')',
        ]) }} as setting_line
    from weights
    union all
    select
        {%- set as_text = ' as ' ~ dbt.type_string() ~ ')' %}
        {{ dbt.concat([
            "'rule|'", 'category_id', "'|'", 'signal_name', "'|'", 'scoring_basis', "'|'",
            'cast(cast(zero_points_at as decimal(18, 6))' ~ as_text, "'|'",
            'cast(cast(full_points_at as decimal(18, 6))' ~ as_text, "'|'",
            'cast(cast(max_points as decimal(18, 6))' ~ as_text,
        ]) }} as setting_line
    from rules
    union all
    select
        {%- set as_text = ' as ' ~ dbt.type_string() ~ ')' %}
        {{ dbt.concat([
            "'band|'", 'band_id', "'|'",
            "coalesce(cast(cast(lower_bound as decimal(12, 3))" ~ as_text ~ ", '')", "'|'",
            "coalesce(cast(cast(upper_bound as decimal(12, 3))" ~ as_text ~ ", '')",
        ]) }} as setting_line
    from bands
    {%- for name in scoring_vars %}
    union all
    select '{{ ("var|" ~ name ~ "|" ~ (var(name) | tojson)) | replace("'", "''") }}' as setting_line
    {%- endfor %}

),

final as (

    select
        {{ dbt.concat(["'cfg-'", 'substr(' ~ settings_hash ~ ', 1, 10)']) }} as config_version,
        count(*) as setting_count
    from setting_lines

)

select * from final
