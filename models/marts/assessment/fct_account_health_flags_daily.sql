{#- Incremental (config in dbt_project.yml, shared with the account-day models). One row per
    scored account and day: each red flag and green light of seed 004's assessment as
    known on that day (true when it holds, false when it does not, null when the deployment
    has no data to evaluate it), the first day of its current run of days and the evidence
    with its numbers. The thresholds are the seed health_flag_rules; fct_account_health_flags
    lists the flags that hold, one row each. -#}
{%- set flags = health_flags() -%}
{%- set payment_window = var('payment_window_days') -%}
{%- set support_window = var('support_window_days') -%}
{%- set text = dbt.type_string() -%}

{%- if is_incremental() %}
{%- set recompute_from = incremental_recompute_date() %}
{%- endif %}

with inputs as (

    select * from {{ ref('int_health_flag_inputs_daily') }}
    {%- if is_incremental() %}
    where score_date >= {{ recompute_from }}
    {%- endif %}

),

-- one row: each flag's thresholds (exact decimals, so a boundary compares exactly) and type
rules as (

    select
        {%- for flag in flags %}
        cast(max(case when flag_id = '{{ flag }}' then threshold end) as decimal(18, 6))
            as {{ flag }}__threshold,
        cast(max(case when flag_id = '{{ flag }}' then min_base end) as decimal(18, 6))
            as {{ flag }}__min_base,
        coalesce(max(
            case when flag_id = '{{ flag }}' and flag_type = 'red_flag' then 1 end
        ), 0) as {{ flag }}__is_red,
        {%- endfor %}
        count(*) as rule_count
    from {{ ref('health_flag_rules') }}

),

availability as (

    select
        {%- for flag in flags %}
        coalesce(max(case when flag_id = '{{ flag }}' then is_evaluated end), false)
            as {{ flag }}__evaluated,
        {%- endfor %}
        count(*) as flag_count
    from {{ ref('int_health_flag_availability') }}

),

{#- Each flag: (condition on the day's inputs and its thresholds, evidence text). -#}
{%- set rules = {
    'core_feature_unused': (
        'inputs.unused_value_feature_count >= 1',
        dbt.concat([
            "'core feature '''", 'inputs.longest_unused_value_feature', "''' '",
            "case when inputs.longest_unused_value_feature_was_used then 'unused for ' else 'never used (available for ' end",
            whole_number_text('inputs.longest_unused_value_feature_days'),
            "case when inputs.longest_unused_value_feature_was_used then ' days' else ' days)' end",
            "case when inputs.unused_value_feature_count > 1 then " ~ dbt.concat([
                "' (and '", count_text('inputs.unused_value_feature_count - 1', 'other', 'others'),
                "')'"]) ~ " else '' end",
        ]),
    ),
    'declining_usage': (
        'inputs.user_days_prior_30d >= rules.declining_usage__min_base
        and inputs.user_days_30d <= (1 - rules.declining_usage__threshold) * inputs.user_days_prior_30d',
        dbt.concat([
            "'user-days down '",
            percent_text('1 - cast(inputs.user_days_30d as double) / inputs.user_days_prior_30d'),
            "' in 30 days ('", whole_number_text('inputs.user_days_30d'), "' vs '",
            whole_number_text('inputs.user_days_prior_30d'), "' the 30 days before)'",
        ]),
    ),
    'license_waste': (
        'inputs.licensed_seats >= rules.license_waste__min_base
        and inputs.licensed_seats - inputs.active_users_30d
        >= rules.license_waste__threshold * inputs.licensed_seats',
        dbt.concat([
            count_text('inputs.active_users_30d', 'active user', 'active users'), "' in 30 days on '",
            count_text('inputs.licensed_seats', 'seat', 'seats'), "' ('",
            percent_text('cast(inputs.active_users_30d as double) / inputs.licensed_seats'),
            "')'",
        ]),
    ),
    'single_user_dependency': (
        'inputs.licensed_seats >= 2 and inputs.power_user_count = 1 and inputs.user_days_30d > 0
        and inputs.power_user_days_30d >= rules.single_user_dependency__threshold * inputs.user_days_30d',
        dbt.concat([
            "'one user carries '",
            percent_text('cast(inputs.power_user_days_30d as double) / inputs.user_days_30d'),
            "' of activity ('", whole_number_text('inputs.power_user_days_30d'), "' of '",
            whole_number_text('inputs.user_days_30d'), "' user-days in 30 days, '",
            count_text('inputs.active_users_30d', 'user', 'users'), "' active)'",
        ]),
    ),
    'champion_left': (
        dbt.datediff('inputs.last_champion_left_date', 'inputs.score_date', 'day')
        ~ ' <= rules.champion_left__threshold
        and (inputs.last_champion_added_date is null
            or inputs.last_champion_added_date < inputs.last_champion_left_date)',
        dbt.concat([
            "'champion left '",
            whole_number_text(dbt.datediff('inputs.last_champion_left_date', 'inputs.score_date', 'day')),
            "' days ago ('", date_text('inputs.last_champion_left_date'),
            "'), none added since'",
        ]),
    ),
    'executive_sponsor_missing': (
        'inputs.active_executive_sponsor_count = 0',
        "case when inputs.last_executive_sponsor_left_date is null
            then 'no executive sponsor on record'
            else " ~ dbt.concat([
                "'no executive sponsor since '",
                date_text('inputs.last_executive_sponsor_left_date'),
                "', when the last one left'"]) ~ " end",
    ),
    'critical_tickets_open': (
        'inputs.critical_open_ticket_count >= rules.critical_tickets_open__threshold',
        dbt.concat([
            count_text('inputs.critical_open_ticket_count', 'ticket', 'tickets'),
            "' open ('", whole_number_text('inputs.escalated_open_ticket_count'),
            "' escalated)'",
        ]),
    ),
    'late_payment': (
        'inputs.overdue_invoice_count >= rules.late_payment__threshold',
        dbt.concat([
            count_text('inputs.overdue_invoice_count', 'invoice', 'invoices'),
            "' unpaid past the due date'",
        ]),
    ),
    'failed_payment': (
        'inputs.failed_payment_count >= rules.failed_payment__threshold',
        dbt.concat([
            count_text('inputs.failed_payment_count', 'failed payment attempt', 'failed payment attempts'),
            "' in the last " ~ payment_window ~ " days'",
        ]),
    ),
    'contraction': (
        'inputs.arr_365d_ago > 0
        and inputs.arr <= (1 - rules.contraction__threshold) * inputs.arr_365d_ago',
        dbt.concat([
            "'ARR down '", percent_text('1 - inputs.arr / inputs.arr_365d_ago'),
            "' in 365 days'",
        ]),
    ),
    'renewal_at_risk': (
        "inputs.days_to_renewal >= 0
        and inputs.days_to_renewal <= rules.renewal_at_risk__threshold
        and inputs.trend = 'down'",
        dbt.concat([
            "'renewal in '", whole_number_text('inputs.days_to_renewal'), "' days ('",
            date_text('inputs.renewal_date'), "'), score down '",
            one_decimal_text('-inputs.score_change_30d'), "' points in 30 days'",
        ]),
    ),
    'expanding_usage': (
        'inputs.user_days_prior_30d >= rules.expanding_usage__min_base
        and inputs.user_days_30d >= (1 + rules.expanding_usage__threshold) * inputs.user_days_prior_30d',
        dbt.concat([
            "'user-days up '",
            percent_text('cast(inputs.user_days_30d as double) / inputs.user_days_prior_30d - 1'),
            "' in 30 days ('", whole_number_text('inputs.user_days_30d'), "' vs '",
            whole_number_text('inputs.user_days_prior_30d'), "' the 30 days before)'",
        ]),
    ),
    'cross_team_adoption': (
        'inputs.active_team_count >= rules.cross_team_adoption__threshold',
        dbt.concat([
            count_text('inputs.active_team_count', 'team', 'teams'),
            "' with an active user in 30 days'",
        ]),
    ),
    'advanced_feature_use': (
        'inputs.advanced_features_used_30d >= rules.advanced_feature_use__threshold',
        dbt.concat([
            'inputs.advanced_feature_names_30d', "' used in the last 30 days'",
        ]),
    ),
    'seats_near_limit': (
        'inputs.licensed_seats >= rules.seats_near_limit__min_base
        and inputs.active_users_30d >= rules.seats_near_limit__threshold * inputs.licensed_seats',
        dbt.concat([
            count_text('inputs.active_users_30d', 'active user', 'active users'), "' in 30 days on '",
            count_text('inputs.licensed_seats', 'seat', 'seats'), "' ('",
            percent_text('cast(inputs.active_users_30d as double) / inputs.licensed_seats'),
            "')'",
        ]),
    ),
    'promoter_nps': (
        'inputs.latest_nps_score >= rules.promoter_nps__threshold',
        dbt.concat([
            "'NPS '",
            "case when inputs.latest_nps_score = floor(inputs.latest_nps_score) then "
            ~ whole_number_text('inputs.latest_nps_score') ~ " else "
            ~ one_decimal_text('inputs.latest_nps_score') ~ " end",
            "' on '",
            date_text('inputs.latest_nps_date'),
        ]),
    ),
    'tickets_decreasing': (
        'inputs.tickets_opened_prior_window >= rules.tickets_decreasing__min_base
        and inputs.tickets_opened_window
        <= (1 - rules.tickets_decreasing__threshold) * inputs.tickets_opened_prior_window',
        dbt.concat([
            count_text('inputs.tickets_opened_window', 'ticket', 'tickets'),
            "' opened in the last " ~ support_window ~ " days, down '",
            percent_text('1 - cast(inputs.tickets_opened_window as double) / inputs.tickets_opened_prior_window'),
            "' from '", whole_number_text('inputs.tickets_opened_prior_window'),
            "' the " ~ support_window ~ " days before'",
        ]),
    ),
} -%}
{%- for flag in flags if flag not in rules %}
    {{ exceptions.raise_compiler_error("fct_account_health_flags_daily: no rule for flag '" ~ flag ~ "'") }}
{%- endfor %}

evaluated as (

    select
        inputs.account_id,
        inputs.score_date,
        {%- for flag in flags %}
        case
            when availability.{{ flag }}__evaluated
                then coalesce({{ rules[flag][0] }}, false)
        end as {{ flag }},
        cast(null as date) as {{ flag }}_since,
        {%- endfor %}
        {%- for flag in flags %}
        case
            when availability.{{ flag }}__evaluated and coalesce({{ rules[flag][0] }}, false)
                then {{ rules[flag][1] }}
        end as {{ flag }}_evidence,
        {%- endfor %}
        0 as is_stored
    from inputs
    cross join rules
    cross join availability

),

{%- if is_incremental() %}

-- the stored day before the recomputed ones: a run that continues there keeps its first day
stored_day as (

    select
        account_id,
        score_date,
        {%- for flag in flags %}
        {{ flag }},
        {{ flag }}_since,
        {%- endfor %}
        {%- for flag in flags %}
        cast(null as {{ text }}) as {{ flag }}_evidence,
        {%- endfor %}
        1 as is_stored
    from {{ this }}
    where score_date = {{ add_days(-1, recompute_from) }}

),
{%- endif %}

days as (

    select * from evaluated
    {%- if is_incremental() %}
    union all
    select * from stored_day
    {%- endif %}

),

-- a run of a flag starts on a day it holds that does not follow a day it held
run_starts as (

    select
        {%- for flag in flags %}
        case
            when days.is_stored = 1 then days.{{ flag }}_since
            when
                days.{{ flag }}
                and not (
                    coalesce(lag(days.{{ flag }}) over account_days, false)
                    and lag(days.score_date) over account_days
                    = {{ add_days(-1, 'days.score_date') }}
                )
                then days.score_date
        end as {{ flag }}__run_start,
        {%- endfor %}
        days.*
    from days
    window account_days as (partition by days.account_id order by days.score_date)

),

-- the latest run start so far: on a day the flag holds, the first day of its current run
runs as (

    select
        {%- for flag in flags %}
        max(run_starts.{{ flag }}__run_start) over (
            partition by run_starts.account_id
            order by run_starts.score_date
            rows between unbounded preceding and current row
        ) as {{ flag }}__latest_start,
        {%- endfor %}
        run_starts.*
    from run_starts

),

final as (

    select
        runs.account_id,
        runs.score_date,
        {%- for flag in flags %}
        runs.{{ flag }},
        {%- endfor %}
        {%- for flag in flags %}
        case when runs.{{ flag }} then runs.{{ flag }}__latest_start end as {{ flag }}_since,
        {%- endfor %}
        {%- for flag in flags %}
        runs.{{ flag }}_evidence,
        {%- endfor %}
        cast(
            0
            {%- for flag in flags %}
            + case when runs.{{ flag }} and rules.{{ flag }}__is_red = 1 then 1 else 0 end
            {%- endfor %}
            as integer
        ) as red_flag_count,
        cast(
            0
            {%- for flag in flags %}
            + case when runs.{{ flag }} and rules.{{ flag }}__is_red = 0 then 1 else 0 end
            {%- endfor %}
            as integer
        ) as green_light_count,
        cast(
            0
            {%- for flag in flags %}
            + case when runs.{{ flag }} is not null then 1 else 0 end
            {%- endfor %}
            as integer
        ) as evaluated_flag_count
    from runs
    cross join rules
    where runs.is_stored = 0

)

select * from final
