{#- Everything the assessment's flags and expansion signals read, one row per scored
    account-day, as known on that day: the raw counts behind the scored signals, the day's
    score, band and trend, and int_health_flag_signals_daily. A view: the flag and expansion
    marts read the days they recompute. -#}
with health as (

    select
        account_id,
        score_date,
        segment,
        computed_health_score,
        computed_health_band,
        trend,
        score_change_30d
    from {{ ref('fct_account_health_daily') }}

),

account_days as (

    select
        account_id,
        score_date,
        arr,
        arr_365d_ago,
        licensed_seats,
        days_to_renewal,
        renewal_date
    from {{ ref('int_account_days') }}

),

usage as (

    select
        account_id,
        score_date,
        active_users_30d,
        user_days_30d,
        user_days_prior_30d
    from {{ ref('int_usage_signals_daily') }}

),

adoption as (

    select
        account_id,
        score_date,
        features_used_30d,
        active_team_count
    from {{ ref('int_adoption_signals_daily') }}

),

-- each day's adoption as of 30 days later: joined on equal days, so a filter on the view's
-- days reaches this read as well (a join to an earlier day would read every day)
adoption_30d_ago as (

    select
        account_id,
        {{ add_days(30, 'score_date') }} as score_date,
        features_used_30d,
        active_team_count
    from {{ ref('int_adoption_signals_daily') }}

),

support as (

    select
        account_id,
        score_date,
        latest_nps_score,
        latest_nps_date
    from {{ ref('int_support_signals_daily') }}

),

commercial as (

    select
        account_id,
        score_date,
        overdue_invoice_count,
        failed_payment_count
    from {{ ref('int_commercial_signals_daily') }}

),

flag_signals as (

    select * from {{ ref('int_health_flag_signals_daily') }}

),

final as (

    select
        health.account_id,
        health.score_date,
        health.segment,
        health.computed_health_score,
        health.computed_health_band,
        health.trend,
        health.score_change_30d,
        cast(account_days.arr as double) as arr,
        cast(account_days.arr_365d_ago as double) as arr_365d_ago,
        cast(account_days.licensed_seats as integer) as licensed_seats,
        cast(account_days.days_to_renewal as integer) as days_to_renewal,
        account_days.renewal_date,
        cast(usage.active_users_30d as integer) as active_users_30d,
        cast(usage.user_days_30d as integer) as user_days_30d,
        cast(usage.user_days_prior_30d as integer) as user_days_prior_30d,
        cast(adoption.features_used_30d as integer) as features_used_30d,
        cast(adoption_30d_ago.features_used_30d as integer) as features_used_30d_earlier,
        cast(adoption.active_team_count as integer) as active_team_count,
        cast(adoption_30d_ago.active_team_count as integer) as active_team_count_earlier,
        -- the day's average when several users answered (int_survey_days): 9.5 is not 9
        cast(support.latest_nps_score as double) as latest_nps_score,
        support.latest_nps_date,
        cast(commercial.overdue_invoice_count as integer) as overdue_invoice_count,
        cast(commercial.failed_payment_count as integer) as failed_payment_count,
        flag_signals.unused_value_feature_count,
        flag_signals.longest_unused_value_feature,
        flag_signals.longest_unused_value_feature_days,
        flag_signals.longest_unused_value_feature_was_used,
        flag_signals.advanced_features_used_30d,
        flag_signals.advanced_feature_names_30d,
        flag_signals.power_user_count,
        flag_signals.power_user_days_30d,
        flag_signals.critical_open_ticket_count,
        flag_signals.escalated_open_ticket_count,
        flag_signals.tickets_opened_window,
        flag_signals.tickets_opened_prior_window,
        flag_signals.active_champion_count,
        flag_signals.active_executive_sponsor_count,
        flag_signals.last_champion_left_date,
        flag_signals.last_champion_added_date,
        flag_signals.last_executive_sponsor_left_date
    from health
    inner join account_days
        on
            health.account_id = account_days.account_id
            and health.score_date = account_days.score_date
    inner join usage
        on
            health.account_id = usage.account_id
            and health.score_date = usage.score_date
    inner join adoption
        on
            health.account_id = adoption.account_id
            and health.score_date = adoption.score_date
    inner join support
        on
            health.account_id = support.account_id
            and health.score_date = support.score_date
    inner join commercial
        on
            health.account_id = commercial.account_id
            and health.score_date = commercial.score_date
    inner join flag_signals
        on
            health.account_id = flag_signals.account_id
            and health.score_date = flag_signals.score_date
    left join adoption_30d_ago
        on
            health.account_id = adoption_30d_ago.account_id
            and health.score_date = adoption_30d_ago.score_date

)

select * from final
