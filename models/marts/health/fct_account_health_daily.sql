{#- Incremental (config in dbt_project.yml, shared with the account-day intermediates).
    Incremental runs recompute the days from incremental_lookback_days before the last
    scored day onwards (late-arriving data), reading the scores 30 days earlier back from
    this table. -#}
{%- set recompute_from = incremental_recompute_date() if is_incremental() else none -%}

with scores as (

    select * from {{ ref('int_health_scores_daily') }}
    {%- if is_incremental() %}
    where score_date >= {{ recompute_from }}
    {%- endif %}

),

account_days as (

    select
        account_id,
        score_date,
        days_to_renewal
    from {{ ref('int_account_days') }}

),

overrides as (

    select
        override_id,
        account_id,
        override_band,
        cast(override_score as double) as override_score,
        valid_from,
        expires_at
    from {{ ref('health_score_overrides') }}

),

bands as (

    select
        band_id,
        cast(lower_bound as double) as lower_bound,
        cast(upper_bound as double) as upper_bound
    from {{ ref('health_bands') }}
    where lower_bound is not null

),

trends as (

    select
        trend,
        trend_arrow
    from {{ ref('health_trends') }}

),

-- computed scores on the days the trend looks back to
score_history as (

    {%- if is_incremental() %}
    select
        account_id,
        score_date,
        computed_health_score
    from {{ this }}
    where score_date < {{ recompute_from }}
    union all
    {%- endif %}
    select
        account_id,
        score_date,
        computed_health_score
    from scores

),

-- an override applies from valid_from up to the day before expires_at
overridden as (

    select
        scores.*,
        overrides.override_id,
        overrides.override_band,
        overrides.override_score,
        overrides.expires_at as override_expires_at
    from scores
    left join overrides
        on
            scores.account_id = overrides.account_id
            and scores.score_date >= overrides.valid_from
            and scores.score_date < overrides.expires_at

),

changed as (

    select
        overridden.*,
        account_days.days_to_renewal,
        {{ round_half_up(
            'overridden.computed_health_score - score_30d_ago.computed_health_score', 1, whole_digits=8
        ) }} as score_change_30d
    from overridden
    inner join account_days
        on
            overridden.account_id = account_days.account_id
            and overridden.score_date = account_days.score_date
    left join score_history as score_30d_ago
        on
            overridden.account_id = score_30d_ago.account_id
            and score_30d_ago.score_date = {{ add_days(-30, 'overridden.score_date') }}

),

-- the trend compares the change rounded to the score's 0.1 precision
trended as (

    select
        changed.*,
        case
            when changed.computed_health_score is null then null
            when changed.score_change_30d is null then 'new'
            when changed.score_change_30d >= {{ var('trend_threshold_points') }} then 'up'
            when changed.score_change_30d <= -{{ var('trend_threshold_points') }} then 'down'
            else 'flat'
        end as trend
    from changed

),

final as (

    select
        trended.account_id,
        trended.score_date,
        trended.segment,
        trended.lifecycle_stage,
        trended.config_version,
        trended.weight_set,
        trended.override_id,
        coalesce(
            trended.override_band, override_score_bands.band_id, trended.computed_health_band
        ) as health_band,
        trended.computed_health_band,
        trended.trend,
        trends.trend_arrow,
        cast(
            coalesce(trended.override_score, trended.computed_health_score) as double
        ) as health_score,
        cast(trended.computed_health_score as double) as computed_health_score,
        cast(trended.score_change_30d as double) as score_change_30d,
        cast(trended.score_coverage as double) as score_coverage,
        {%- for category in health_categories() %}
        {{ round_half_up('trended.' ~ category ~ '_score', 1, whole_digits=8) }}
            as {{ category }}_score,
        {{ round_half_up('trended.' ~ category ~ '_effective_weight', 4, whole_digits=8) }}
            as {{ category }}_weight,
        {{ round_half_up('trended.' ~ category ~ '_contribution', 2, whole_digits=8) }}
            as {{ category }}_contribution,
        {%- endfor %}
        cast(trended.days_to_renewal as integer) as days_to_renewal,
        trended.override_id is not null as is_overridden,
        trended.override_expires_at
    from trended
    left join trends
        on trended.trend = trends.trend
    left join bands as override_score_bands
        on {{ score_in_band('trended.override_score', 'override_score_bands') }}

)

select * from final
