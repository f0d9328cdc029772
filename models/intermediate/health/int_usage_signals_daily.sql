{%- set window_days = var('usage_window_days') -%}

with account_days as (

    select
        account_id,
        score_date,
        licensed_seats,
        observed_from_date
    from {{ ref('int_account_days') }}
    {%- if is_incremental() %}
    where score_date >= {{ incremental_recompute_date() }}
    {%- endif %}

),

engaged_user_days as {{ not_materialized() }} (

    select
        account_id,
        user_id,
        key_events,
        activity_date
    from {{ ref('int_engaged_user_days') }}
    {%- if is_incremental() %}
    where activity_date >= {{ incremental_recompute_date(2 * window_days) }}
    {%- endif %}

),

feature_use_days as {{ not_materialized() }} (

    select
        account_id,
        is_value_driving,
        usage_date
    from {{ ref('int_feature_use_days') }}
    {%- if is_incremental() %}
    where usage_date >= {{ incremental_recompute_date(2 * window_days) }}
    {%- endif %}

),

{%- if is_incremental() %}

-- the last active day before the days this run reads (last_active_date has no window)
earlier_activity as (

    select
        account_id,
        max(activity_date) as last_active_date
    from {{ ref('int_engaged_user_days') }}
    where activity_date < {{ incremental_recompute_date(2 * window_days) }}
    group by account_id

),
{%- endif %}

account_activity_days as (

    select
        account_id,
        activity_date,
        count(*) as active_users,
        sum(key_events) as key_events
    from engaged_user_days
    group by account_id, activity_date

),

value_feature_days as (

    select distinct
        account_id,
        usage_date
    from feature_use_days
    where is_value_driving

),

active_user_changes as (

    {{ window_presence_deltas(
        'engaged_user_days', ['user_id'], 'activity_date', window_days, 'active_users'
    ) }}

),

{#- Each day of use enters the last-30-day window, leaves it 30 days later and leaves the
    prior-30-day window 60 days later. -#}
{%- set usage_changes = [
    ('account_activity_days', 'activity_date',
        {'user_days': 'active_users', 'active_days': 1, 'key_events': 'key_events',
            'last_active_date': 'activity_date'},
        'true'),
    ('account_activity_days', add_days(window_days, 'activity_date'),
        {'user_days': '-active_users', 'prior_user_days': 'active_users', 'active_days': -1,
            'key_events': '-key_events'},
        'true'),
    ('account_activity_days', add_days(2 * window_days, 'activity_date'),
        {'prior_user_days': '-active_users'}, 'true'),
    ('value_feature_days', 'usage_date', {'value_feature_days': 1}, 'true'),
    ('value_feature_days', add_days(window_days, 'usage_date'), {'value_feature_days': -1}, 'true'),
    ('active_user_changes', 'delta_date', {'active_users': 'active_users'}, 'true'),
] %}
{%- if is_incremental() %}
    {%- do usage_changes.append(
        ('earlier_activity', 'last_active_date', {'last_active_date': 'last_active_date'}, 'true')
    ) %}
{%- endif %}

usage_changes as (

    {{ dated_changes(usage_changes, {
        'user_days': '0',
        'prior_user_days': '0',
        'active_days': '0',
        'key_events': '0',
        'value_feature_days': '0',
        'active_users': '0',
        'last_active_date': 'cast(null as date)',
    }) }}

),

usage_totals as (

    {{ running_totals_on_spine('account_days', 'usage_changes', {
        'user_days': 'sum',
        'prior_user_days': 'sum',
        'active_days': 'sum',
        'key_events': 'sum',
        'value_feature_days': 'sum',
        'active_users': 'sum',
        'last_active_date': 'max',
    }) }}

),

observed as (

    -- days of the window the account existed and product data was collected
    select
        usage_totals.*,
        account_days.licensed_seats,
        least(
            {{ window_days }},
            {{ dbt.datediff(
                'account_days.observed_from_date', 'usage_totals.score_date', 'day'
            ) }} + 1
        ) as observed_days,
        {{ add_days(-2 * window_days + 1, 'usage_totals.score_date') }}
        >= account_days.observed_from_date as has_prior_window
    from usage_totals
    inner join account_days
        on
            usage_totals.account_id = account_days.account_id
            and usage_totals.score_date = account_days.score_date

),

final as (

    select
        account_id,
        score_date,
        active_users as active_users_30d,
        user_days as user_days_30d,
        prior_user_days as user_days_prior_30d,
        active_days as active_days_30d,
        key_events as key_events_30d,
        value_feature_days as value_feature_days_30d,
        case
            when licensed_seats > 0 then cast(active_users as double) / licensed_seats
        end as seat_utilisation_rate,
        case
            when observed_days > 0 then cast(value_feature_days as double) / observed_days
        end as value_feature_day_rate,
        case
            when observed_days > 0 then cast(active_days as double) / observed_days
        end as active_day_rate,
        -- user-days against the 30 days before, each side with a prior of
        -- usage_trend_prior_user_days added: a steady account with few user-days stays near
        -- 1 instead of swinging with chance
        case
            when has_prior_window
                then
                    cast(user_days + {{ var('usage_trend_prior_user_days') }} as double)
                    / (prior_user_days + {{ var('usage_trend_prior_user_days') }})
        end as usage_trend_rate,
        active_users as active_user_count,
        case
            when active_users > 0 then cast(user_days as double) / active_users
        end as user_days_per_active_user,
        case
            when active_users > 0 then cast(key_events as double) / active_users
        end as key_events_per_active_user,
        case
            when active_days > 0 then cast(key_events as double) / active_days
        end as key_events_per_active_day,
        last_active_date
    from observed

)

select * from final
