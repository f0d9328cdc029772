{%- set drop_days = var('score_drop_alert_days') -%}
{%- set drop_points = var('score_drop_alert_points') -%}
{%- set expiry_days = var('override_expiry_alert_days') -%}
{%- set text = dbt.type_string() -%}
{%- set alert_bands = "'" ~ (var('alert_bands') | join("', '")) ~ "'" -%}
{#- Replaced by window (config in dbt_project.yml): an incremental run recomputes the alerts
    from the first day fct_account_health_daily recomputed, reading the scores from
    score_drop_alert_days + 1 days before it (the drop's base and the day before). -#}
{%- set window_start = upstream_window_start('fct_account_health_daily') -%}

with daily_health as (

    select
        account_id,
        score_date,
        health_band,
        health_score,
        computed_health_score,
        trend,
        score_change_30d,
        days_to_renewal,
        override_id,
        override_expires_at,
        {{ dbt.datediff(
            'score_date', 'override_expires_at', 'day'
        ) }} as days_to_override_expiry
    from {{ ref('fct_account_health_daily') }}
    {%- if window_start %}
    where score_date >= {{ add_days(-(drop_days + 1), window_start) }}
    {%- endif %}

),

transitions as (

    select
        account_id,
        transition_date,
        from_band,
        to_band,
        from_score,
        to_score
    from {{ ref('fct_health_band_transitions') }}
    where
        direction = 'worsened'
        and {{ window_filter('transition_date', window_start) }}

),

-- the conditions checked every day; an alert fires on the first day of a run of
-- consecutive days on which its condition holds
conditions as (

    select
        daily_health.*,
        score_before.computed_health_score as score_before_drop,
        {{ round_half_up(
            'score_before.computed_health_score - daily_health.computed_health_score', 1
        ) }} >= {{ drop_points }} as is_score_drop,
        daily_health.days_to_renewal <= {{ var('renewal_window_days') }}
        and daily_health.trend = 'down' as is_renewal_declining,
        daily_health.days_to_override_expiry <= {{ expiry_days }} as is_override_expiring
    from daily_health
    left join daily_health as score_before
        on
            daily_health.account_id = score_before.account_id
            and score_before.score_date = {{ add_days(-drop_days, 'daily_health.score_date') }}

),

-- the same account's conditions on the day before (none after a day without a score)
previous_days as (

    select
        conditions.*,
        lag(conditions.score_date) over account_days
        = {{ add_days(-1, 'conditions.score_date') }} as follows_previous_day,
        lag(conditions.is_score_drop) over account_days as previous_score_drop,
        lag(conditions.is_renewal_declining) over account_days as previous_renewal_declining,
        lag(conditions.override_id) over account_days as previous_day_override_id,
        lag(conditions.is_override_expiring) over account_days as previous_override_expiring
    from conditions
    window account_days as (partition by conditions.account_id order by conditions.score_date)

),

episodes as (

    select
        previous_days.*,
        coalesce(
            previous_days.follows_previous_day and previous_days.previous_score_drop, false
        ) as was_score_drop,
        coalesce(
            previous_days.follows_previous_day and previous_days.previous_renewal_declining,
            false
        ) as was_renewal_declining,
        case
            when previous_days.follows_previous_day then previous_days.previous_day_override_id
        end as previous_override_id,
        coalesce(
            previous_days.follows_previous_day and previous_days.previous_override_expiring,
            false
        ) as was_override_expiring
    from previous_days

),

alerts as (

    select
        account_id,
        score_date as alert_date,
        'score_drop' as alert_type,
        health_band,
        health_score,
        computed_health_score - score_before_drop as alert_value,
        cast(-{{ drop_points }} as double) as alert_threshold,
        'Score fell '
        || cast({{ round_half_up('score_before_drop - computed_health_score', 1) }} as {{ text }})
        || ' points in {{ drop_days }} days ('
        || cast(score_before_drop as {{ text }})
        || ' to '
        || cast(computed_health_score as {{ text }})
        || ')' as alert_detail
    from episodes
    where is_score_drop and not was_score_drop
    union all
    select
        transitions.account_id,
        transitions.transition_date as alert_date,
        'entered_' || transitions.to_band as alert_type,
        transitions.to_band as health_band,
        transitions.to_score as health_score,
        transitions.to_score as alert_value,
        cast(null as double) as alert_threshold,
        'Band went from '
        || transitions.from_band
        || ' to '
        || transitions.to_band
        || ' ('
        || cast(transitions.from_score as {{ text }})
        || ' to '
        || cast(transitions.to_score as {{ text }})
        || ')' as alert_detail
    from transitions
    where transitions.to_band in ({{ alert_bands }})
    union all
    select
        account_id,
        score_date as alert_date,
        'renewal_declining' as alert_type,
        health_band,
        health_score,
        cast(days_to_renewal as double) as alert_value,
        cast({{ var('renewal_window_days') }} as double) as alert_threshold,
        'Renewal in '
        || cast(days_to_renewal as {{ text }})
        || ' days with the score down '
        || cast(-score_change_30d as {{ text }})
        || ' points over 30 days' as alert_detail
    from episodes
    where is_renewal_declining and not was_renewal_declining
    union all
    select
        account_id,
        score_date as alert_date,
        'override_expiring' as alert_type,
        health_band,
        health_score,
        cast(days_to_override_expiry as double) as alert_value,
        cast({{ expiry_days }} as double) as alert_threshold,
        'Override '
        || override_id
        || ' expires on '
        || cast(override_expires_at as {{ text }}) as alert_detail
    from episodes
    where
        is_override_expiring
        and not (was_override_expiring and coalesce(previous_override_id = override_id, false))

),

final as (

    select
        {{ dbt.hash(
            "account_id || '|' || alert_type || '|' || cast(alert_date as " ~ text ~ ")"
        ) }} as alert_id,
        account_id,
        alert_type,
        health_band,
        alert_detail,
        cast(health_score as double) as health_score,
        {{ round_half_up('alert_value', 1) }} as alert_value,
        alert_threshold,
        alert_date
    from alerts
    where {{ window_filter('alert_date', window_start) }}

)

select * from final
