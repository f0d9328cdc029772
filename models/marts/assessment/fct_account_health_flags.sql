{#- One row per scored account-day and each red flag or green light that holds on it, with
    its dimension, severity, first day and evidence: fct_account_health_flags_daily in long
    form, with the seed's labels. A table (BI tools read served tables), replaced by window
    (config in dbt_project.yml): an incremental run copies the days the daily one recomputed. -#}
{%- set flags = health_flags() -%}
{%- set new_days = var('assessment_new_flag_days') -%}
{%- set window_start = upstream_window_start('fct_account_health_flags_daily') -%}

with daily as (

    select * from {{ ref('fct_account_health_flags_daily') }}
    where {{ window_filter('score_date', window_start) }}

),

rules as (

    select
        flag_id,
        flag_type,
        category_id,
        severity,
        flag_label
    from {{ ref('health_flag_rules') }}

),

held as (

    {%- for flag in flags %}
    select
        account_id,
        score_date,
        '{{ flag }}' as flag_id,
        {{ flag }}_evidence as evidence,
        {{ flag }}_since as first_held_date,
        {{ dbt.datediff(flag ~ '_since', 'score_date', 'day') }} as days_since_first  -- noqa: LT05
    from daily
    where {{ flag }}
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}

),

final as (

    select
        held.account_id,
        held.score_date,
        held.flag_id,
        rules.flag_type,
        rules.category_id,
        rules.severity,
        cast(
            case rules.severity when 'high' then 3 when 'medium' then 2 else 1 end as integer
        ) as severity_rank,
        rules.flag_label,
        held.evidence,
        held.first_held_date,
        cast(held.days_since_first + 1 as integer) as days_held,
        held.days_since_first < {{ new_days }} as is_new
    from held
    inner join rules
        on held.flag_id = rules.flag_id

)

select * from final
