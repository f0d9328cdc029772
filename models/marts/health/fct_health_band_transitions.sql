{#- Replaced by window (config in dbt_project.yml): an incremental run recomputes the
    transitions from the first day fct_account_health_daily recomputed, each account's first
    day there compared with its last scored day before. -#}
{%- set window_start = upstream_window_start('fct_account_health_daily') -%}

with daily_health as (

    select
        account_id,
        score_date,
        health_band,
        health_score,
        is_overridden
    from {{ ref('fct_account_health_daily') }}
    where
        health_band != 'insufficient_data'
        and {{ window_filter('score_date', window_start) }}
    {%- if window_start %}
    -- each account's last scored day before the window (the first window day's previous)
    union all
    select
        account_id,
        max(score_date) as score_date,
        max_by(health_band, score_date) as health_band,
        max_by(health_score, score_date) as health_score,
        max_by(is_overridden, score_date) as is_overridden
    from {{ ref('fct_account_health_daily') }}
    where
        health_band != 'insufficient_data'
        and score_date < {{ window_start }}
    group by account_id
    {%- endif %}

),

bands as (

    select
        band_id,
        band_rank
    from {{ ref('health_bands') }}

),

-- each scored day next to the account's previous scored day (days without enough data
-- are skipped, so a band is compared with the last band the account had)
sequenced as (

    select
        account_id,
        score_date,
        health_band as to_band,
        health_score as to_score,
        is_overridden,
        lag(health_band) over (partition by account_id order by score_date) as from_band,
        lag(health_score) over (partition by account_id order by score_date) as from_score,
        lag(score_date) over (partition by account_id order by score_date) as from_score_date
    from daily_health

),

final as (

    select
        {{ dbt.hash(
            "sequenced.account_id || '|' || cast(sequenced.score_date as " ~ dbt.type_string() ~ ")"
        ) }} as transition_id,
        sequenced.account_id,
        sequenced.from_band,
        sequenced.to_band,
        case
            when to_bands.band_rank < from_bands.band_rank then 'improved' else 'worsened'
        end as direction,
        sequenced.from_score,
        sequenced.to_score,
        sequenced.is_overridden,
        sequenced.from_score_date,
        sequenced.score_date as transition_date
    from sequenced
    inner join bands as from_bands
        on sequenced.from_band = from_bands.band_id
    inner join bands as to_bands
        on sequenced.to_band = to_bands.band_id
    where
        sequenced.from_band != sequenced.to_band
        and {{ window_filter('sequenced.score_date', window_start) }}

)

select * from final
