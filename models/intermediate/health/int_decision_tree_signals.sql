{#- The answers to the decision tree's questions, one row per account and assessment day:
    every month-end on which the account is active, and its last active day (the scoring
    date for current accounts). Thresholds are the decision_tree_* vars. -#}
{%- set adoption_min_rate = var('decision_tree_adoption_min_rate') -%}
{%- set engagement_days = var('decision_tree_engagement_days') -%}
{%- set survey_days = var('decision_tree_survey_days') -%}
{%- set max_open_tickets = var('decision_tree_max_open_tickets') -%}
{%- set max_ticket_age_days = var('decision_tree_max_ticket_age_days') -%}
{%- set renewal_days = var('decision_tree_renewal_days') -%}
{#- Replaced by window (config in dbt_project.yml): an incremental run recomputes the
    assessment days from the first day int_account_days recomputed: the month-ends, and each
    account's last active day when it falls there. An account with a day in the window but
    none active keeps its last active day from before, and gets it here when the table lacks
    it (its later last day was deleted); the post-hook deletes a last active day that is no
    longer an account's latest. -#}
{%- set window_start = upstream_window_start('int_account_days') -%}

with account_days as (

    select
        account_id,
        score_date,
        days_to_renewal
    from {{ ref('int_account_days') }}
    where is_active and {{ window_filter('score_date', window_start) }}
    {%- if window_start %}
    -- the last active day before the window of each account with a day but no active day
    -- in it, when this table no longer has a row for it
    union all
    select
        account_id,
        score_date,
        days_to_renewal
    from {{ ref('int_account_days') }} as earlier
    where
        is_active
        and score_date < {{ window_start }}
        and account_id in (
            select account_id from {{ ref('int_account_days') }}
            where score_date >= {{ window_start }}
        )
        and account_id not in (
            select account_id from {{ ref('int_account_days') }}
            where score_date >= {{ window_start }} and is_active
        )
    qualify
        score_date = max(score_date) over (partition by account_id)
        and not exists (
            select 1
            from {{ this }} as kept
            where kept.account_id = earlier.account_id and kept.as_of_date = earlier.score_date
        )
    {%- endif %}

),

assessment_days as (

    select
        account_id,
        score_date as as_of_date,
        days_to_renewal
    from account_days
    qualify
        score_date = {{ dbt.last_day('score_date', 'month') }}
        or score_date = max(score_date) over (partition by account_id)

),

usage_signals as (

    select
        account_id,
        score_date,
        seat_utilisation_rate,
        last_active_date
    from {{ ref('int_usage_signals_daily') }}
    {%- if window_start %}
    where score_date in (select distinct as_of_date from assessment_days)
    {%- endif %}

),

support_signals as (

    select
        account_id,
        score_date,
        latest_nps_date,
        latest_csat_date
    from {{ ref('int_support_signals_daily') }}
    {%- if window_start %}
    where score_date in (select distinct as_of_date from assessment_days)
    {%- endif %}

),

tickets as (

    select
        account_id,
        opened_date,
        resolved_date
    from {{ ref('stg_support__tickets') }}

),

survey_days as (

    select
        account_id,
        survey_type,
        responded_date,
        survey_score
    from {{ ref('int_survey_days') }}

),

-- a day's answer per survey type, side by side
survey_day_answers as (

    select
        account_id,
        responded_date,
        max(case when survey_type = 'nps' then survey_score end) as nps_score,
        max(case when survey_type = 'csat' then survey_score end) as csat_score
    from survey_days
    group by account_id, responded_date

),

-- tickets open at the end of the day: opened on or before it, not resolved by then
open_tickets as (

    select
        assessment_days.account_id,
        assessment_days.as_of_date,
        count(*) as open_ticket_count,
        max({{ dbt.datediff('tickets.opened_date', 'assessment_days.as_of_date', 'day') }})
            as oldest_open_ticket_age_days
    from assessment_days
    inner join tickets
        on
            assessment_days.account_id = tickets.account_id
            and assessment_days.as_of_date >= tickets.opened_date
            and (
                tickets.resolved_date is null
                or assessment_days.as_of_date < tickets.resolved_date
            )
    group by assessment_days.account_id, assessment_days.as_of_date

),

signals as (

    select
        assessment_days.account_id,
        assessment_days.as_of_date,
        assessment_days.days_to_renewal,
        usage_signals.seat_utilisation_rate,
        usage_signals.last_active_date,
        greatest(support_signals.latest_nps_date, support_signals.latest_csat_date)
            as latest_survey_date,
        coalesce(open_tickets.open_ticket_count, 0) as open_ticket_count,
        open_tickets.oldest_open_ticket_age_days
    from assessment_days
    left join usage_signals
        on
            assessment_days.account_id = usage_signals.account_id
            and assessment_days.as_of_date = usage_signals.score_date
    left join support_signals
        on
            assessment_days.account_id = support_signals.account_id
            and assessment_days.as_of_date = support_signals.score_date
    left join open_tickets
        on
            assessment_days.account_id = open_tickets.account_id
            and assessment_days.as_of_date = open_tickets.as_of_date

),

measured as (

    select
        signals.*,
        survey_day_answers.nps_score as latest_survey_nps_score,
        survey_day_answers.csat_score as latest_survey_csat_score,
        {{ dbt.datediff('signals.last_active_date', 'signals.as_of_date', 'day') }}
            as days_since_last_active,
        {{ dbt.datediff('signals.latest_survey_date', 'signals.as_of_date', 'day') }}
            as days_since_latest_survey
    from signals
    left join survey_day_answers
        on
            signals.account_id = survey_day_answers.account_id
            and signals.latest_survey_date = survey_day_answers.responded_date

),

final as (

    select
        account_id,
        seat_utilisation_rate,
        latest_survey_nps_score,
        latest_survey_csat_score,
        days_since_last_active,
        days_since_latest_survey,
        open_ticket_count,
        oldest_open_ticket_age_days,
        days_to_renewal,
        -- Q1; null (a data gap) when the contract has no seats
        seat_utilisation_rate > {{ adoption_min_rate }} as is_adoption_above_target,
        -- Q2; an account nobody has used yet is not engaged
        coalesce(days_since_last_active <= {{ engagement_days }}, false) as is_recently_engaged,
        -- Q3; null (a data gap) when no survey was answered in the window
        case
            when days_since_latest_survey <= {{ survey_days }}
                then
                    coalesce(latest_survey_nps_score >= {{ var('nps_satisfied_min') }}, false)
                    or coalesce(latest_survey_csat_score >= {{ var('csat_satisfied_min') }}, false)
        end as is_latest_survey_satisfied,
        -- Q4
        open_ticket_count > {{ max_open_tickets }}
        or coalesce(oldest_open_ticket_age_days > {{ max_ticket_age_days }}, false)
            as has_support_backlog,
        -- Q5 and Q6; a renewal date already passed is due too
        days_to_renewal <= {{ renewal_days }} as is_renewal_due,
        as_of_date,
        last_active_date,
        latest_survey_date
    from measured

)

select * from final
