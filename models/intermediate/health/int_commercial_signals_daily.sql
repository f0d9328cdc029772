{%- set payment_window = var('payment_window_days') -%}
{%- set stakeholder_window = var('stakeholder_window_days') -%}

with account_days as (

    select
        account_id,
        score_date,
        arr,
        arr_365d_ago,
        days_to_renewal
    from {{ ref('int_account_days') }}
    {%- if is_incremental() %}
    where score_date >= {{ incremental_recompute_date() }}
    {%- endif %}

),

invoices as (

    -- void invoices are cancelled and never owed (their status is known only at extract
    -- time, so a voided invoice drops out of history too)
    select
        account_id,
        paid_date,
        {{ add_days(1, 'due_date') }} as overdue_from_date
    from {{ ref('stg_billing__invoices') }}
    where invoice_status != 'void'

),

failed_payments as (

    select
        account_id,
        attempted_date
    from {{ ref('stg_billing__payments') }}
    where is_failed

),

sponsor_events as (

    select
        account_id,
        stakeholder_event_type,
        occurred_date
    from {{ ref('stg_crm__stakeholder_events') }}
    where stakeholder_role in ('champion', 'executive_sponsor')

),

{#- Each change: (source, day it applies, measure values, which rows). -#}
{%- set commercial_changes = [
    ('invoices', 'overdue_from_date', {'overdue_invoices': 1},
        'paid_date is null or paid_date >= overdue_from_date'),
    ('invoices', 'paid_date', {'overdue_invoices': -1}, 'paid_date >= overdue_from_date'),
    ('failed_payments', 'attempted_date', {'failed_payments': 1}, 'true'),
    ('failed_payments', add_days(payment_window, 'attempted_date'),
        {'failed_payments': -1}, 'true'),
    ('sponsor_events', 'occurred_date', {'sponsor_departures': 1, 'active_sponsors': -1},
        "stakeholder_event_type = 'left'"),
    ('sponsor_events', add_days(stakeholder_window, 'occurred_date'), {'sponsor_departures': -1},
        "stakeholder_event_type = 'left'"),
    ('sponsor_events', 'occurred_date', {'active_sponsors': 1}, "stakeholder_event_type = 'added'"),
] %}

commercial_changes as (

    {{ dated_changes(commercial_changes, {
        'overdue_invoices': '0',
        'failed_payments': '0',
        'sponsor_departures': '0',
        'active_sponsors': '0',
    }) }}

),

commercial_totals as (

    {{ running_totals_on_spine('account_days', 'commercial_changes', {
        'overdue_invoices': 'sum',
        'failed_payments': 'sum',
        'sponsor_departures': 'sum',
        'active_sponsors': 'sum',
    }) }}

),

final as (

    select
        commercial_totals.account_id,
        commercial_totals.score_date,
        account_days.arr,
        account_days.arr_365d_ago,
        account_days.days_to_renewal,
        commercial_totals.overdue_invoices as overdue_invoice_count,
        commercial_totals.failed_payments as failed_payment_count,
        case
            when account_days.arr_365d_ago > 0 then account_days.arr / account_days.arr_365d_ago - 1
        end as arr_change_rate,
        commercial_totals.sponsor_departures as sponsor_departure_count,
        case
            when commercial_totals.active_sponsors > 0 then commercial_totals.active_sponsors
            else 0
        end as active_sponsor_count
    from commercial_totals
    inner join account_days
        on
            commercial_totals.account_id = account_days.account_id
            and commercial_totals.score_date = account_days.score_date

)

select * from final
