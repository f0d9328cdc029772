{%- set window_days = var('usage_window_days') -%}

with account_days as (

    select
        account_id,
        score_date,
        licensed_seats
    from {{ ref('int_account_days') }}
    {%- if is_incremental() %}
    where score_date >= {{ incremental_recompute_date() }}
    {%- endif %}

),

score_dates as (

    select score_date from {{ ref('int_score_dates') }}

),

users as (

    select
        user_id,
        account_id,
        user_role,
        team,
        activated_date,
        deactivated_date
    from {{ ref('stg_product__users') }}

),

engaged_user_days as {{ not_materialized() }} (

    select
        user_id,
        activity_date
    from {{ ref('int_engaged_user_days') }}
    {%- if is_incremental() %}
    where activity_date >= {{ incremental_recompute_date(window_days) }}
    {%- endif %}

),

features as (

    select
        feature_id,
        released_date
    from {{ ref('stg_product__features') }}

),

feature_use_days as {{ not_materialized() }} (

    select
        account_id,
        feature_id,
        is_integration,
        usage_date
    from {{ ref('int_feature_use_days') }}
    {%- if is_incremental() %}
    where usage_date >= {{ incremental_recompute_date(window_days) }}
    {%- endif %}

),

integration_use_days as (

    select
        account_id,
        feature_id,
        usage_date
    from feature_use_days
    where is_integration

),

role_use_days as (

    select distinct
        users.account_id,
        users.user_role,
        engaged_user_days.activity_date
    from engaged_user_days
    inner join users
        on engaged_user_days.user_id = users.user_id

),

team_use_days as (

    select distinct
        users.account_id,
        users.team,
        engaged_user_days.activity_date
    from engaged_user_days
    inner join users
        on engaged_user_days.user_id = users.user_id
    where users.team != 'Unknown'

),

released_features as (

    select
        score_dates.score_date,
        count(features.feature_id) as released_feature_count
    from score_dates
    left join features
        on score_dates.score_date >= features.released_date
    group by score_dates.score_date

),

feature_changes as (

    {{ window_presence_deltas(
        'feature_use_days', ['feature_id'], 'usage_date', window_days, 'features_used'
    ) }}

),

integration_changes as (

    {{ window_presence_deltas(
        'integration_use_days', ['feature_id'], 'usage_date', window_days, 'integrations_used'
    ) }}

),

role_changes as (

    {{ window_presence_deltas(
        'role_use_days', ['user_role'], 'activity_date', window_days, 'active_roles'
    ) }}

),

team_changes as (

    {{ window_presence_deltas(
        'team_use_days', ['team'], 'activity_date', window_days, 'active_teams'
    ) }}

),

{%- set adoption_changes = [
    ('users', 'activated_date', {'activated_users': 1}, 'activated_date is not null'),
    ('users', 'deactivated_date', {'activated_users': -1},
        'activated_date is not null and deactivated_date is not null'),
    ('feature_changes', 'delta_date', {'features_used': 'features_used'}, 'true'),
    ('integration_changes', 'delta_date', {'integrations_used': 'integrations_used'}, 'true'),
    ('role_changes', 'delta_date', {'active_roles': 'active_roles'}, 'true'),
    ('team_changes', 'delta_date', {'active_teams': 'active_teams'}, 'true'),
] %}

adoption_changes as (

    {{ dated_changes(adoption_changes, {
        'activated_users': '0',
        'features_used': '0',
        'integrations_used': '0',
        'active_roles': '0',
        'active_teams': '0',
    }) }}

),

adoption_totals as (

    {{ running_totals_on_spine('account_days', 'adoption_changes', {
        'activated_users': 'sum',
        'features_used': 'sum',
        'integrations_used': 'sum',
        'active_roles': 'sum',
        'active_teams': 'sum',
    }) }}

),

final as (

    select
        adoption_totals.account_id,
        adoption_totals.score_date,
        adoption_totals.activated_users,
        adoption_totals.features_used as features_used_30d,
        released_features.released_feature_count,
        case
            when account_days.licensed_seats > 0
                then
                    cast(adoption_totals.activated_users as double)
                    / account_days.licensed_seats
        end as seat_activation_rate,
        case
            when released_features.released_feature_count > 0
                then
                    cast(adoption_totals.features_used as double)
                    / released_features.released_feature_count
        end as feature_breadth_rate,
        adoption_totals.active_roles as active_role_count,
        adoption_totals.active_teams as active_team_count,
        adoption_totals.integrations_used as integration_count
    from adoption_totals
    inner join account_days
        on
            adoption_totals.account_id = account_days.account_id
            and adoption_totals.score_date = account_days.score_date
    inner join released_features
        on adoption_totals.score_date = released_features.score_date

)

select * from final
