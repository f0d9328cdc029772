-- Weekly exception review (seed 003): the alerts of the last 7 days, worst bands first, with
-- the owner and the category to look at. Compile with `dbt compile` and run the SQL from
-- target/compiled/, or paste it into a BI tool.
with alerts as (

    select
        account_id,
        alert_type,
        alert_detail,
        alert_date
    from {{ ref('fct_health_alerts') }}

),

accounts as (

    select
        account_id,
        account_name,
        segment,
        csm_owner,
        health_band,
        trend_arrow,
        weakest_category,
        top_change_category,
        health_score,
        arr,
        days_to_renewal,
        as_of_date
    from {{ ref('dim_account_health') }}

),

bands as (

    select
        band_id,
        band_rank
    from {{ ref('health_bands') }}

),

final as (

    select
        accounts.csm_owner,
        accounts.account_name,
        accounts.segment,
        alerts.alert_type,
        alerts.alert_detail,
        accounts.health_band,
        accounts.trend_arrow,
        accounts.weakest_category,
        accounts.top_change_category,
        accounts.health_score,
        accounts.arr,
        accounts.days_to_renewal,
        alerts.alert_date,
        bands.band_rank
    from alerts
    inner join accounts
        on alerts.account_id = accounts.account_id
    inner join bands
        on accounts.health_band = bands.band_id
    where alerts.alert_date > {{ add_days(-7, 'accounts.as_of_date') }}

)

select * from final
order by band_rank desc, arr desc, alert_date desc
