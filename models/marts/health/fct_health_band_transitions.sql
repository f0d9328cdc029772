with daily_health as (

    select
        account_id,
        score_date,
        health_band,
        health_score,
        is_overridden
    from {{ ref('fct_account_health_daily') }}
    where health_band != 'insufficient_data'

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
    where sequenced.from_band != sequenced.to_band

)

select * from final
