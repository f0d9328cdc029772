{%- set tenure_starts = var('cohort_tenure_band_days') -%}
{%- set cohort_parts = {
    'segment': 'banded.segment',
    'size_band': dbt.concat(["'arr'", 'cast(banded.size_band as ' ~ dbt.type_string() ~ ')']),
    'tenure_band': dbt.concat(["'tenure'", 'cast(banded.tenure_band as ' ~ dbt.type_string() ~ ')']),
} -%}
{%- set cohort_id_parts = [] -%}
{%- for dimension in var('cohort_dimensions') -%}
{%- if not loop.first %}{% do cohort_id_parts.append("'|'") %}{% endif -%}
{%- do cohort_id_parts.append(cohort_parts[dimension]) -%}
{%- endfor -%}

with score_dates as (

    select
        score_date,
        product_data_start_date
    from {{ ref('int_score_dates') }}
    {%- if is_incremental() %}
    where score_date >= {{ incremental_recompute_date() }}
    {%- endif %}

),

accounts as (

    select
        account_id,
        segment
    from {{ ref('stg_crm__accounts') }}

),

contracts as (

    select
        account_id,
        arr,
        licensed_seats,
        start_date,
        end_date,
        signed_date
    from {{ ref('stg_crm__contracts') }}

),

go_live_milestones as (

    select
        account_id,
        min(completed_date) as go_live_date
    from {{ ref('stg_crm__onboarding_milestones') }}
    where milestone_name = 'go_live'
    group by account_id

),

-- A contract is in force, as far as day D knows, from the later of its start and its
-- signature until its end date.
contract_terms as (

    select
        account_id,
        arr,
        licensed_seats,
        end_date,
        signed_date,
        case when signed_date > start_date then signed_date else start_date end as known_from_date
    from contracts

),

account_spans as (

    select
        account_id,
        min(start_date) as account_start_date,
        max(end_date) as last_contract_date
    from contracts
    group by account_id

),

account_day_spine as (

    select
        account_spans.account_id,
        score_dates.score_date
    from account_spans
    inner join score_dates
        on
            account_spans.account_start_date <= score_dates.score_date
            and account_spans.last_contract_date >= score_dates.score_date

),

{#- Terms entering (+) and leaving (-) force, today and 365 days later (for the year-ago
    comparison), and the end date each signature makes known. -#}
{%- set in_force = "known_from_date <= end_date" %}
{%- set contract_changes = [
    ('contract_terms', 'known_from_date',
        {'in_force_contracts': 1, 'in_force_arr': 'arr', 'in_force_seats': 'licensed_seats'},
        in_force),
    ('contract_terms', add_days(1, 'end_date'),
        {'in_force_contracts': -1, 'in_force_arr': '-arr', 'in_force_seats': '-licensed_seats'},
        in_force),
    ('contract_terms', add_days(365, 'known_from_date'),
        {'in_force_contracts_year_ago': 1, 'in_force_arr_year_ago': 'arr'}, in_force),
    ('contract_terms', add_days(366, 'end_date'),
        {'in_force_contracts_year_ago': -1, 'in_force_arr_year_ago': '-arr'}, in_force),
    ('contract_terms', 'signed_date', {'latest_known_end_date': 'end_date'}, 'true'),
] %}

contract_changes as (

    {{ dated_changes(contract_changes, {
        'in_force_contracts': '0',
        'in_force_arr': '0',
        'in_force_seats': '0',
        'in_force_contracts_year_ago': '0',
        'in_force_arr_year_ago': '0',
        'latest_known_end_date': 'cast(null as date)',
    }) }}

),

contract_totals as (

    {{ running_totals_on_spine('account_day_spine', 'contract_changes', {
        'in_force_contracts': 'sum',
        'in_force_arr': 'sum',
        'in_force_seats': 'sum',
        'in_force_contracts_year_ago': 'sum',
        'in_force_arr_year_ago': 'sum',
        'latest_known_end_date': 'max',
    }) }}

),

positions as (

    select
        contract_totals.*,
        accounts.segment,
        account_spans.account_start_date,
        score_dates.product_data_start_date,
        go_live_milestones.go_live_date,
        {{ dbt.datediff(
            'contract_totals.score_date', 'contract_totals.latest_known_end_date', 'day'
        ) }} as days_to_renewal,
        {{ dbt.datediff(
            'account_spans.account_start_date', 'contract_totals.score_date', 'day'
        ) }} as account_age_days
    from contract_totals
    inner join accounts
        on contract_totals.account_id = accounts.account_id
    inner join account_spans
        on contract_totals.account_id = account_spans.account_id
    inner join score_dates
        on contract_totals.score_date = score_dates.score_date
    left join go_live_milestones
        on contract_totals.account_id = go_live_milestones.account_id

),

day_positions as (

    select
        account_id,
        score_date,
        segment,
        case
            when
                coalesce(go_live_date > score_date, true)
                and account_age_days < {{ var('onboarding_max_days') }}
                then 'onboarding'
            when days_to_renewal <= {{ var('renewal_window_days') }} then 'renewal'
            else 'established'
        end as lifecycle_stage,
        round(in_force_arr, 2) as arr,
        in_force_seats as licensed_seats,
        case
            when in_force_contracts_year_ago > 0 then round(in_force_arr_year_ago, 2)
        end as arr_365d_ago,
        days_to_renewal,
        account_age_days,
        in_force_contracts > 0 as is_active,
        coalesce(go_live_date <= score_date, false) as has_gone_live,
        latest_known_end_date as renewal_date,
        account_start_date,
        case
            when account_start_date > product_data_start_date then account_start_date
            else product_data_start_date
        end as observed_from_date
    from positions

),

-- the account-day's cohort for relative scoring (var cohort_dimensions): its segment, its
-- ARR band among the segment's active accounts that day (cohort_size_bands equal shares,
-- ties in one band) and its tenure band (cohort_tenure_band_days)
arr_ranks as (

    select
        day_positions.*,
        case
            when day_positions.is_active
                then {{ midrank_percentile(
                    'day_positions.arr',
                    'day_positions.score_date, day_positions.segment, day_positions.is_active'
                ) }}
        end as segment_arr_percentile
    from day_positions

),

banded as (

    select
        arr_ranks.*,
        cast(
            floor(
                arr_ranks.segment_arr_percentile * {{ health_number_var('cohort_size_bands') }}
            ) + 1 as integer
        ) as size_band,
        case
            {%- for start in tenure_starts | reverse %}
            when arr_ranks.account_age_days >= {{ start }}
                then {{ tenure_starts | length - loop.index0 + 1 }}
            {%- endfor %}
            else 1
        end as tenure_band
    from arr_ranks

),

final as (

    select
        banded.*,
        case
            when banded.is_active
                then {{ dbt.concat(cohort_id_parts) if cohort_id_parts | length > 0 else "'all'" }}
        end as cohort_id
    from banded

)

select * from final
