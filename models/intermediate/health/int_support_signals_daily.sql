{%- set support_window = var('support_window_days') -%}
{%- set aged_after = var('ticket_aging_days') -%}

with account_days as (

    select
        account_id,
        score_date
    from {{ ref('int_account_days') }}
    {%- if is_incremental() %}
    where score_date >= {{ incremental_recompute_date() }}
    {%- endif %}

),

tickets as (

    select
        account_id,
        is_high_severity,
        satisfaction_score,
        opened_date,
        resolved_date,
        cast(escalated_at as date) as escalated_date,
        cast(satisfaction_rated_at as date) as rated_date,
        -- first day on which a still-open ticket is older than the aging threshold
        {{ add_days(aged_after + 1, 'opened_date') }} as aged_from_date
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

{#- Each change: (rows, day it applies, measure values, which rows). Ticket windows: open from
    the day opened until the day resolved; aged from the day after the aging threshold;
    escalations, resolutions and ratings count for support_window_days days. -#}
{%- set resolution_days = dbt.datediff('opened_date', 'resolved_date', 'day') %}
{%- set ticket_changes = [
    ('tickets', 'opened_date', {'first_ticket_seen': 1, 'open_tickets': 1}, 'true'),
    ('tickets', 'resolved_date', {'open_tickets': -1}, 'resolved_date is not null'),
    ('tickets', 'aged_from_date', {'aged_open_tickets': 1},
        'resolved_date is null or resolved_date > aged_from_date'),
    ('tickets', 'resolved_date', {'aged_open_tickets': -1}, 'resolved_date > aged_from_date'),
    ('tickets', 'opened_date', {'high_severity_open_tickets': 1}, 'is_high_severity'),
    ('tickets', 'resolved_date', {'high_severity_open_tickets': -1},
        'is_high_severity and resolved_date is not null'),
    ('tickets', 'escalated_date', {'escalated_tickets': 1}, 'escalated_date is not null'),
    ('tickets', add_days(support_window, 'escalated_date'), {'escalated_tickets': -1},
        'escalated_date is not null'),
    ('tickets', 'resolved_date', {'resolved_tickets': 1, 'resolution_days': resolution_days},
        'resolved_date is not null'),
    ('tickets', add_days(support_window, 'resolved_date'),
        {'resolved_tickets': -1, 'resolution_days': '-' ~ resolution_days},
        'resolved_date is not null'),
    ('tickets', 'rated_date', {'rated_tickets': 1, 'rating_total': 'satisfaction_score'},
        'rated_date is not null and satisfaction_score is not null'),
    ('tickets', add_days(support_window, 'rated_date'),
        {'rated_tickets': -1, 'rating_total': '-satisfaction_score'},
        'rated_date is not null and satisfaction_score is not null'),
] %}

support_changes as (

    {{ dated_changes(ticket_changes + [
        ('survey_days', 'responded_date', {
            'latest_nps_date': "case when survey_type = 'nps' then responded_date end",
            'latest_csat_date': "case when survey_type = 'csat' then responded_date end",
        }, 'true'),
    ], {
        'first_ticket_seen': '0',
        'open_tickets': '0',
        'aged_open_tickets': '0',
        'high_severity_open_tickets': '0',
        'escalated_tickets': '0',
        'resolved_tickets': '0',
        'resolution_days': '0',
        'rated_tickets': '0',
        'rating_total': '0',
        'latest_nps_date': 'cast(null as date)',
        'latest_csat_date': 'cast(null as date)',
    }) }}

),

support_totals as (

    {{ running_totals_on_spine('account_days', 'support_changes', {
        'first_ticket_seen': 'max',
        'open_tickets': 'sum',
        'aged_open_tickets': 'sum',
        'high_severity_open_tickets': 'sum',
        'escalated_tickets': 'sum',
        'resolved_tickets': 'sum',
        'resolution_days': 'sum',
        'rated_tickets': 'sum',
        'rating_total': 'sum',
        'latest_nps_date': 'max',
        'latest_csat_date': 'max',
    }) }}

),

survey_positions as (

    select
        support_totals.*,
        latest_nps.survey_score as latest_nps_answer,
        latest_csat.survey_score as latest_csat_answer,
        {{ dbt.datediff(
            'support_totals.latest_nps_date', 'support_totals.score_date', 'day'
        ) }} as nps_age_days,
        {{ dbt.datediff(
            'support_totals.latest_csat_date', 'support_totals.score_date', 'day'
        ) }} as csat_age_days
    from support_totals
    left join survey_days as latest_nps
        on
            support_totals.account_id = latest_nps.account_id
            and support_totals.latest_nps_date = latest_nps.responded_date
            and latest_nps.survey_type = 'nps'
    left join survey_days as latest_csat
        on
            support_totals.account_id = latest_csat.account_id
            and support_totals.latest_csat_date = latest_csat.responded_date
            and latest_csat.survey_type = 'csat'

),

final as (

    select
        account_id,
        score_date,
        resolved_tickets as resolved_tickets_90d,
        rated_tickets as rated_tickets_90d,
        latest_nps_date,
        latest_csat_date,
        -- ticket signals start with the account's first ticket; before it there is no
        -- support history to judge
        case when first_ticket_seen = 1 then open_tickets end as open_ticket_count,
        case when first_ticket_seen = 1 then aged_open_tickets end as aged_open_ticket_count,
        case
            when first_ticket_seen = 1 then high_severity_open_tickets
        end as high_severity_open_ticket_count,
        case when first_ticket_seen = 1 then escalated_tickets end as escalated_ticket_count,
        case
            when resolved_tickets > 0 then cast(resolution_days as double) / resolved_tickets
        end as avg_resolution_days,
        case
            when rated_tickets > 0 then cast(rating_total as double) / rated_tickets
        end as avg_ticket_satisfaction_score,
        -- a survey older than the age limit is missing, never a zero
        case
            when nps_age_days <= {{ var('survey_max_age_days') }} then latest_nps_answer
        end as latest_nps_score,
        case
            when csat_age_days <= {{ var('survey_max_age_days') }} then latest_csat_answer
        end as latest_csat_score
    from survey_positions

)

select * from final
