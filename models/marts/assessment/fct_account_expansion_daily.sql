{#- Incremental (config in dbt_project.yml, shared with the account-day models). One row per
    scored account and day: seed 004's expansion potential as known that day. Each signal of
    the seed expansion_signals earns points on a straight line between its zero and full
    points (the scoring rules' form). Readiness is the share of the readiness signals' points
    earned, need the share of the need signals' points; the expansion score is
    100 x readiness x (1 + need) / 2: half of it is readiness, the other half need counted in
    proportion to readiness, so growth without health does not make a candidate. Its level
    comes from the seed expansion_levels, and the potential ARR is the seats that level
    proposes (a share of the licensed seats, plus any active users beyond them) at the
    account's price per seat. -#}
{%- set signals = expansion_signals() -%}

with inputs as (

    select
        account_id,
        score_date,
        computed_health_score,
        arr,
        licensed_seats,
        active_users_30d,
        user_days_30d,
        user_days_prior_30d,
        active_team_count,
        active_team_count_earlier,
        features_used_30d,
        features_used_30d_earlier
    from {{ ref('int_health_flag_inputs_daily') }}
    {%- if is_incremental() %}
    where score_date >= {{ incremental_recompute_date() }}
    {%- endif %}

),

-- one row: each signal's rule and label
rules as (

    select
        {%- for signal in signals %}
        max(case when signal_id = '{{ signal }}' then signal_part end) as {{ signal }}__part,
        max(case when signal_id = '{{ signal }}' then zero_points_at end) as {{ signal }}__zero_at,
        max(case when signal_id = '{{ signal }}' then full_points_at end) as {{ signal }}__full_at,
        max(case when signal_id = '{{ signal }}' then max_points end) as {{ signal }}__max_points,
        max(case when signal_id = '{{ signal }}' then signal_label end) as {{ signal }}__label,
        {%- endfor %}
        count(*) as signal_count
    from {{ ref('expansion_signals') }}

),

availability as (

    select
        {%- for signal in signals %}
        coalesce(max(case when signal_id = '{{ signal }}' then is_available end), false)
            as {{ signal }}__available,
        {%- endfor %}
        count(*) as signal_count
    from {{ ref('int_expansion_signal_availability') }}

),

levels as (

    select
        expansion_level,
        expansion_level_label,
        cast(min_score as decimal(18, 6)) as min_score,
        cast(max_score as decimal(18, 6)) as max_score,
        cast(seat_share as decimal(18, 6)) as seat_share
    from {{ ref('expansion_levels') }}

),

{%- set prior = var('usage_trend_prior_user_days') -%}
{%- set values = {
    'healthy_score': 'inputs.computed_health_score',
    'seats_near_limit': 'case when inputs.licensed_seats > 0 then cast(inputs.active_users_30d as double) / inputs.licensed_seats end',
    'usage_growing': 'cast(inputs.user_days_30d + ' ~ prior ~ ' as double) / (inputs.user_days_prior_30d + ' ~ prior ~ ')',
    'teams_growing': 'inputs.active_team_count - inputs.active_team_count_earlier',
    'features_growing': 'inputs.features_used_30d - inputs.features_used_30d_earlier',
} -%}
{%- for signal in signals if signal not in values %}
    {{ exceptions.raise_compiler_error("fct_account_expansion_daily: no value for signal '" ~ signal ~ "'") }}
{%- endfor %}

signal_values as (

    select
        {%- for signal in signals %}
        {{ values[signal] }} as {{ signal }}__value,
        {%- endfor %}
        inputs.*
    from inputs

),

-- points per available signal (0 when the account has no value); null when unavailable
signal_points as (

    select
        {%- for signal in signals %}
        case
            when availability.{{ signal }}__available
                then coalesce({{ signal_points(signal ~ '__value', signal, 'signal_values') }}, 0)
        end as {{ signal }}_points,
        {%- endfor %}
        signal_values.*
    from signal_values
    cross join rules
    cross join availability

),

-- per part: the points its available signals can earn, and those they earned
part_points as (

    select
        {%- for part in ['readiness', 'need'] %}
        {%- for signal in signals %}
        case
            when
                rules.{{ signal }}__part = '{{ part }}'
                and signal_points.{{ signal }}_points is not null
                then rules.{{ signal }}__max_points
            else 0
        end as {{ signal }}__{{ part }}_available,
        case
            when rules.{{ signal }}__part = '{{ part }}'
                then coalesce(signal_points.{{ signal }}_points, 0)
            else 0
        end as {{ signal }}__{{ part }}_earned,
        {%- endfor %}
        {%- endfor %}
        signal_points.*
    from signal_points
    cross join rules

),

scored as (

    select
        part_points.*,
        {%- for part in ['readiness', 'need'] %}
        {%- set available = [] %}
        {%- set earned = [] %}
        {%- for signal in signals %}
        {%- do available.append('part_points.' ~ signal ~ '__' ~ part ~ '_available') %}
        {%- do earned.append('part_points.' ~ signal ~ '__' ~ part ~ '_earned') %}
        {%- endfor %}
        case
            when {{ available | join(' + ') }} > 0
                then ({{ earned | join(' + ') }}) / ({{ available | join(' + ') }})
            else 0
        end as {{ part }}_share,
        {%- endfor %}
        1 as is_scored
    from part_points

),

sized as (

    select
        scored.*,
        {%- set score = '100 * scored.readiness_share * (1 + scored.need_share) / 2' %}
        cast({{ round_half_up(score, 1, whole_digits=8) }} as decimal(18, 6)) as score_value
    from scored

),

leveled as (

    select
        sized.*,
        levels.expansion_level,
        levels.expansion_level_label,
        levels.seat_share,
        case
            when sized.licensed_seats > 0
                then
                    ceiling(levels.seat_share * sized.licensed_seats)
                    + greatest(sized.active_users_30d - sized.licensed_seats, 0)
        end as extra_seats,
        case
            when sized.licensed_seats > 0 then sized.arr / sized.licensed_seats
        end as seat_price
    from sized
    left join levels
        on sized.score_value >= levels.min_score and sized.score_value < levels.max_score

),

final as (

    select
        leveled.account_id,
        leveled.score_date,
        {%- for signal in signals %}
        {{ round_half_up('leveled.' ~ signal ~ '_points', 1, whole_digits=8) }}
            as {{ signal }}_points,
        {%- endfor %}
        {{ round_half_up('leveled.readiness_share', 3, whole_digits=8) }} as expansion_readiness,
        {{ round_half_up('leveled.need_share', 3, whole_digits=8) }} as expansion_need,
        cast(leveled.score_value as double) as expansion_score,
        leveled.expansion_level,
        leveled.expansion_level_label,
        cast(leveled.extra_seats as integer) as potential_extra_seats,
        {{ round_half_up('leveled.seat_price', 2) }} as price_per_seat,
        {{ round_half_up('leveled.extra_seats * leveled.seat_price', 2) }}
            as expansion_potential_arr,
        case
            when leveled.licensed_seats is null or leveled.licensed_seats = 0
                then 'no licensed seats to price an expansion by'
            when leveled.extra_seats = 0 then 'no seats to add at this level'
            else {{ dbt.concat([
                count_text('leveled.extra_seats', 'seat', 'seats'), "' ('",
                "case when leveled.seat_share > 0 then " ~ dbt.concat([
                    percent_text('leveled.seat_share'), "' of '",
                    whole_number_text('leveled.licensed_seats'), "' licensed'",
                ]) ~ " else '' end",
                "case when leveled.seat_share > 0 and leveled.active_users_30d > leveled.licensed_seats then ' + ' else '' end",
                "case when leveled.active_users_30d > leveled.licensed_seats then " ~ dbt.concat([
                    count_text('leveled.active_users_30d - leveled.licensed_seats',
                        'active user', 'active users'),
                    "' beyond the '", whole_number_text('leveled.licensed_seats'), "' licensed'",
                ]) ~ " else '' end",
                "') x '", whole_number_text('leveled.seat_price'), "' per seat'",
            ]) }}
        end as expansion_basis,
        {%- set held = [] %}
        {%- for signal in signals %}
        {%- do held.append('case when leveled.' ~ signal ~ '_points > 0 then ' ~ dbt.concat([
            'rules.' ~ signal ~ '__label', "' '",
            whole_number_text('leveled.' ~ signal ~ '_points'), "'/'",
            whole_number_text('rules.' ~ signal ~ '__max_points'),
        ]) ~ ' end') %}
        {%- endfor %}
        concat_ws('; ', {{ held | join(', ') }}) as expansion_signals
    from leveled
    cross join rules

)

select * from final
