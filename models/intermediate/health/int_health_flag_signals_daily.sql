{#- What the assessment's red flags and green lights need beyond the scored signals, one row
    per account and score date, as known on that day: the core (value-driving) feature unused
    the longest, the advanced features in use, power users, open escalated or high-severity
    tickets, tickets opened per window, champions and executive sponsors in place. -#}
{%- set window_days = var('usage_window_days') -%}
{%- set support_window = var('support_window_days') -%}
{#- the day a user's days of use are numbered from -#}
{%- set day_zero = date_literal(modules.datetime.date(2000, 1, 1)) -%}

with account_days as (

    select
        account_id,
        score_date,
        observed_from_date
    from {{ ref('int_account_days') }}
    {%- if is_incremental() %}
    where score_date >= {{ incremental_recompute_date() }}
    {%- endif %}

),

-- the two thresholds this model applies: days without use that make a feature unused, and
-- the days active in the window that make a user a power user
rules as (

    select
        cast(max(
            case when flag_id = 'core_feature_unused' then threshold end
        ) as integer) as unused_days,
        max(
            case when flag_id = 'single_user_dependency' then min_base end
        ) as power_user_min_days
    from {{ ref('health_flag_rules') }}

),

accounts as (

    select
        account_id,
        min(observed_from_date) as observed_from_date
    from account_days
    group by account_id

),

features as (

    select
        feature_id,
        feature_name,
        -- core features: the value-driving features of category core
        is_value_driving and feature_category = 'core' as is_core,
        feature_category = 'advanced' as is_advanced,
        released_date
    from {{ ref('stg_product__features') }}
    where (is_value_driving and feature_category = 'core') or feature_category = 'advanced'

),

feature_use_days as {{ not_materialized() }} (

    select
        feature_use.account_id,
        feature_use.feature_id,
        feature_use.usage_date,
        features.is_core,
        features.is_advanced
    from {{ ref('int_feature_use_days') }} as feature_use
    inner join features
        on feature_use.feature_id = features.feature_id

),

-- days of use of each core feature (an incremental run: the last before the days
-- it recomputes, and those after)
value_use_days as (

    {%- if is_incremental() %}
    select
        account_id,
        feature_id,
        max(usage_date) as usage_date
    from feature_use_days
    where is_core and usage_date < {{ incremental_recompute_date() }}
    group by account_id, feature_id
    union all
    select
        account_id,
        feature_id,
        usage_date
    from feature_use_days
    where is_core and usage_date >= {{ incremental_recompute_date() }}
    {%- else %}
    select
        account_id,
        feature_id,
        usage_date
    from feature_use_days
    where is_core
    {%- endif %}

),

value_use_gaps as (

    select
        account_id,
        feature_id,
        usage_date,
        lead(usage_date) over (
            partition by account_id, feature_id order by usage_date
        ) as next_usage_date,
        min(usage_date) over (partition by account_id, feature_id) as first_usage_date
    from value_use_days

),

first_uses as (

    select distinct
        account_id,
        feature_id,
        first_usage_date
    from value_use_gaps

),

-- the feature is available to an account from its release or the account's first observed
-- day, whichever is later
availability_starts as (

    select
        accounts.account_id,
        features.feature_id,
        greatest(features.released_date, accounts.observed_from_date) as available_from_date
    from accounts
    cross join features
    where features.is_core

),

-- spans of days on which a core feature has gone unused for at least unused_days
-- days: after a use until the day before the next, and from availability until the first
unused_spans as (

    select
        value_use_gaps.account_id,
        value_use_gaps.feature_id,
        true as was_used,
        value_use_gaps.usage_date as unused_since_date,
        {{ add_days('rules.unused_days', 'value_use_gaps.usage_date') }} as from_date,
        {{ add_days(-1, 'value_use_gaps.next_usage_date') }} as to_date
    from value_use_gaps
    cross join rules
    where
        value_use_gaps.next_usage_date is null
        or value_use_gaps.next_usage_date
        > {{ add_days('rules.unused_days', 'value_use_gaps.usage_date') }}
    union all
    select
        availability_starts.account_id,
        availability_starts.feature_id,
        false as was_used,
        availability_starts.available_from_date as unused_since_date,
        {{ add_days('rules.unused_days', 'availability_starts.available_from_date') }}
            as from_date,
        {{ add_days(-1, 'first_uses.first_usage_date') }} as to_date
    from availability_starts
    cross join rules
    left join first_uses
        on
            availability_starts.account_id = first_uses.account_id
            and availability_starts.feature_id = first_uses.feature_id
    where
        first_uses.first_usage_date is null
        or first_uses.first_usage_date
        > {{ add_days('rules.unused_days', 'availability_starts.available_from_date') }}

),

unused_feature_days as (

    select
        account_days.account_id,
        account_days.score_date,
        features.feature_name,
        unused_spans.was_used,
        {{ dbt.datediff('unused_spans.unused_since_date', 'account_days.score_date', 'day') }}
            as days_unused
    from account_days
    inner join unused_spans
        on
            account_days.account_id = unused_spans.account_id
            and account_days.score_date >= unused_spans.from_date
            and (unused_spans.to_date is null or account_days.score_date <= unused_spans.to_date)
    inner join features
        on unused_spans.feature_id = features.feature_id

),

longest_unused as (

    select
        account_id,
        score_date,
        feature_name,
        was_used,
        days_unused,
        unused_count
    from (
        select
            account_id,
            score_date,
            feature_name,
            was_used,
            days_unused,
            count(*) over (partition by account_id, score_date) as unused_count,
            row_number() over (
                partition by account_id, score_date order by days_unused desc, feature_name asc
            ) as unused_rank
        from unused_feature_days
    ) as ranked_unused
    where unused_rank = 1

),

-- spans of days on which an advanced feature was used in the last window_days days
advanced_use_days as (

    select
        account_id,
        feature_id,
        usage_date,
        case
            when
                lag(usage_date) over (partition by account_id, feature_id order by usage_date)
                > {{ add_days(-window_days, 'usage_date') }}
                then 0
            else 1
        end as starts_span
    from feature_use_days
    {%- if is_incremental() %}
    where is_advanced and usage_date >= {{ add_days(-window_days, incremental_recompute_date()) }}
    {%- else %}
    where is_advanced
    {%- endif %}

),

advanced_spans as (

    select
        account_id,
        feature_id,
        min(usage_date) as from_date,
        {{ add_days(window_days - 1, 'max(usage_date)') }} as to_date
    from (
        select
            account_id,
            feature_id,
            usage_date,
            sum(starts_span) over (
                partition by account_id, feature_id order by usage_date
                rows between unbounded preceding and current row
            ) as span_number
        from advanced_use_days
    ) as numbered_use_days
    group by account_id, feature_id, span_number

),

-- the days on which the set of advanced features an account uses can change: a span's
-- first day and the day after its last
advanced_changes as (

    select
        account_id,
        from_date as change_date
    from advanced_spans
    union distinct
    select
        account_id,
        {{ add_days(1, 'to_date') }} as change_date
    from advanced_spans

),

-- the periods between those days, over which the set stays the same (the last, open, one
-- follows every span, so no feature is in use in it)
advanced_periods as (

    select
        account_id,
        change_date as from_date,
        {{ add_days(-1, 'lead(change_date) over (partition by account_id order by change_date)') }}
            as to_date
    from advanced_changes

),

-- each period's features, named once per period rather than once per day: a feature in use
-- on a period's first day is in use throughout it, as no span starts or ends inside one
advanced_period_features as (

    select
        advanced_periods.account_id,
        advanced_periods.from_date,
        advanced_periods.to_date,
        count(*) as advanced_features_used,
        {{ dbt.listagg('features.feature_name', "', '", 'order by features.feature_name') }}
            as advanced_feature_names
    from advanced_periods
    inner join advanced_spans
        on
            advanced_periods.account_id = advanced_spans.account_id
            and advanced_periods.from_date
            between advanced_spans.from_date and advanced_spans.to_date
    inner join features
        on advanced_spans.feature_id = features.feature_id
    group by advanced_periods.account_id, advanced_periods.from_date, advanced_periods.to_date

),

advanced_feature_days as (

    select
        account_days.account_id,
        account_days.score_date,
        advanced_period_features.advanced_features_used,
        advanced_period_features.advanced_feature_names
    from account_days
    inner join advanced_period_features
        on
            account_days.account_id = advanced_period_features.account_id
            and account_days.score_date
            between advanced_period_features.from_date and advanced_period_features.to_date

),

-- each user's days of engaged use, numbered so a window frame can count days
user_use_days as (

    select
        account_id,
        user_id,
        activity_date,
        {{ dbt.datediff(day_zero, 'activity_date', 'day') }}
            as day_number
    from {{ ref('int_engaged_user_days') }}
    {%- if is_incremental() %}
    where activity_date >= {{ add_days(-window_days, incremental_recompute_date()) }}
    {%- endif %}

),

-- a user's active days in the window ending on a day D are the days of use in
-- [D - window_days + 1, D]; that count changes only on a day of use (it gains the day) and
-- window_days after one (it loses it). One sort gives, at each day of use, the count on
-- both sides of both changes. (When a day of use is also the day another leaves the
-- window, the count does not change: both of that day's rows carry no change.)
user_window_counts as (

    select
        account_id,
        activity_date,
        count(*) over (
            partition by account_id, user_id order by day_number
            range between {{ window_days }} preceding and 1 preceding
        ) as days_before_use,
        count(*) over (
            partition by account_id, user_id order by day_number
            range between {{ window_days - 1 }} preceding and current row
        ) as days_after_use,
        count(*) over (
            partition by account_id, user_id order by day_number
            range between current row and {{ window_days - 1 }} following
        ) as days_before_exit,
        count(*) over (
            partition by account_id, user_id order by day_number
            range between 1 following and {{ window_days }} following
        ) as days_after_exit
    from user_use_days

),

user_window_changes as (

    select
        account_id,
        activity_date as change_date,
        days_before_use as days_before,
        days_after_use as days_after
    from user_window_counts
    union all
    select
        account_id,
        {{ add_days(window_days, 'activity_date') }} as change_date,
        days_before_exit as days_before,
        days_after_exit as days_after
    from user_window_counts

),

-- a user counts as a power user while active on at least power_user_min_days (and at least
-- one) of the window's days, and a power user's days count; each change of a user's
-- standing, or of a power user's days, is a dated change
power_user_changes as (

    select
        account_id,
        change_date,
        case when power_days_after > 0 then 1 else 0 end
        - case when power_days_before > 0 then 1 else 0 end as power_users,
        power_days_after - power_days_before as power_user_days
    from (
        select
            user_window_changes.account_id,
            user_window_changes.change_date,
            case
                when user_window_changes.days_before >= rules.power_user_min_days
                    then user_window_changes.days_before
                else 0
            end as power_days_before,
            case
                when user_window_changes.days_after >= rules.power_user_min_days
                    then user_window_changes.days_after
                else 0
            end as power_days_after
        from user_window_changes
        cross join rules
    ) as standing_changes
    where power_days_before != power_days_after

),

tickets as (

    select
        account_id,
        opened_date,
        resolved_date,
        cast(escalated_at as date) as escalated_date,
        -- a ticket is critical from its opening (high or urgent) or its escalation
        case
            when is_high_severity then opened_date
            else cast(escalated_at as date)
        end as critical_from_date
    from {{ ref('stg_support__tickets') }}

),

stakeholder_events as (

    select
        account_id,
        stakeholder_role,
        stakeholder_event_type,
        occurred_date
    from {{ ref('stg_crm__stakeholder_events') }}

),

{%- set flag_changes = [
    ('power_user_changes', 'change_date',
        {'power_users': 'power_users', 'power_user_days': 'power_user_days'}, 'true'),
    ('tickets', 'critical_from_date', {'critical_open_tickets': 1},
        'critical_from_date is not null and (resolved_date is null or resolved_date > critical_from_date)'),
    ('tickets', 'resolved_date', {'critical_open_tickets': -1},
        'critical_from_date is not null and resolved_date > critical_from_date'),
    ('tickets', 'escalated_date', {'escalated_open_tickets': 1},
        'escalated_date is not null and (resolved_date is null or resolved_date > escalated_date)'),
    ('tickets', 'resolved_date', {'escalated_open_tickets': -1},
        'escalated_date is not null and resolved_date > escalated_date'),
    ('tickets', 'opened_date', {'tickets_opened': 1}, 'true'),
    ('tickets', add_days(support_window, 'opened_date'),
        {'tickets_opened': -1, 'tickets_opened_prior': 1}, 'true'),
    ('tickets', add_days(2 * support_window, 'opened_date'), {'tickets_opened_prior': -1}, 'true'),
    ('stakeholder_events', 'occurred_date', {'active_champions': 1},
        "stakeholder_role = 'champion' and stakeholder_event_type = 'added'"),
    ('stakeholder_events', 'occurred_date',
        {'active_champions': -1, 'last_champion_left_date': 'occurred_date'},
        "stakeholder_role = 'champion' and stakeholder_event_type = 'left'"),
    ('stakeholder_events', 'occurred_date', {'last_champion_added_date': 'occurred_date'},
        "stakeholder_role = 'champion' and stakeholder_event_type = 'added'"),
    ('stakeholder_events', 'occurred_date', {'active_executive_sponsors': 1},
        "stakeholder_role = 'executive_sponsor' and stakeholder_event_type = 'added'"),
    ('stakeholder_events', 'occurred_date',
        {'active_executive_sponsors': -1, 'last_executive_sponsor_left_date': 'occurred_date'},
        "stakeholder_role = 'executive_sponsor' and stakeholder_event_type = 'left'"),
] %}

flag_changes as (

    {{ dated_changes(flag_changes, {
        'power_users': '0',
        'power_user_days': '0',
        'critical_open_tickets': '0',
        'escalated_open_tickets': '0',
        'tickets_opened': '0',
        'tickets_opened_prior': '0',
        'active_champions': '0',
        'active_executive_sponsors': '0',
        'last_champion_left_date': 'cast(null as date)',
        'last_champion_added_date': 'cast(null as date)',
        'last_executive_sponsor_left_date': 'cast(null as date)',
    }) }}

),

flag_totals as (

    {{ running_totals_on_spine('account_days', 'flag_changes', {
        'power_users': 'sum',
        'power_user_days': 'sum',
        'critical_open_tickets': 'sum',
        'escalated_open_tickets': 'sum',
        'tickets_opened': 'sum',
        'tickets_opened_prior': 'sum',
        'active_champions': 'sum',
        'active_executive_sponsors': 'sum',
        'last_champion_left_date': 'max',
        'last_champion_added_date': 'max',
        'last_executive_sponsor_left_date': 'max',
    }) }}

),

final as (

    select
        flag_totals.account_id,
        flag_totals.score_date,
        cast(coalesce(longest_unused.unused_count, 0) as integer) as unused_value_feature_count,
        longest_unused.feature_name as longest_unused_value_feature,
        cast(longest_unused.days_unused as integer) as longest_unused_value_feature_days,
        longest_unused.was_used as longest_unused_value_feature_was_used,
        cast(coalesce(advanced_feature_days.advanced_features_used, 0) as integer)
            as advanced_features_used_30d,
        advanced_feature_days.advanced_feature_names as advanced_feature_names_30d,
        cast(flag_totals.power_users as integer) as power_user_count,
        cast(flag_totals.power_user_days as integer) as power_user_days_30d,
        cast(flag_totals.critical_open_tickets as integer) as critical_open_ticket_count,
        cast(flag_totals.escalated_open_tickets as integer) as escalated_open_ticket_count,
        cast(flag_totals.tickets_opened as integer) as tickets_opened_window,
        cast(flag_totals.tickets_opened_prior as integer) as tickets_opened_prior_window,
        cast(greatest(flag_totals.active_champions, 0) as integer) as active_champion_count,
        cast(greatest(flag_totals.active_executive_sponsors, 0) as integer)
            as active_executive_sponsor_count,
        flag_totals.last_champion_left_date,
        flag_totals.last_champion_added_date,
        flag_totals.last_executive_sponsor_left_date
    from flag_totals
    left join longest_unused
        on
            flag_totals.account_id = longest_unused.account_id
            and flag_totals.score_date = longest_unused.score_date
    left join advanced_feature_days
        on
            flag_totals.account_id = advanced_feature_days.account_id
            and flag_totals.score_date = advanced_feature_days.score_date

)

select * from final
