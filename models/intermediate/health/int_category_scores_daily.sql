{%- set signal_models = {
    'usage': 'int_usage_signals_daily',
    'adoption': 'int_adoption_signals_daily',
    'lifecycle': 'int_lifecycle_signals_daily',
    'support': 'int_support_signals_daily',
    'commercial': 'int_commercial_signals_daily',
} -%}

with account_days as (

    select
        account_id,
        score_date,
        segment,
        lifecycle_stage
    from {{ ref('int_account_days') }}
    where is_active
    {%- if is_incremental() %}
        and score_date >= {{ incremental_recompute_from() }}
    {%- endif %}

),

{%- for category, signals in health_signals().items() %}

{{ category }}_signals as (

    select
        account_id,
        score_date,
        {{ signals | join(',\n        ') }}
    from {{ ref(signal_models[category]) }}
    {%- if is_incremental() %}
    where score_date >= {{ incremental_recompute_from() }}
    {%- endif %}

),
{%- endfor %}

rules as (

    {{ signal_rule_columns(ref('health_scoring_rules')) }}

),

signals as (

    select
        account_days.account_id,
        account_days.score_date,
        account_days.segment,
        {%- for category, signals in health_signals().items() %}
        {%- for signal in signals %}
        {{ category }}_signals.{{ signal }},
        {%- endfor %}
        {%- endfor %}
        account_days.lifecycle_stage
    from account_days
    left join usage_signals
        on
            account_days.account_id = usage_signals.account_id
            and account_days.score_date = usage_signals.score_date
    left join adoption_signals
        on
            account_days.account_id = adoption_signals.account_id
            and account_days.score_date = adoption_signals.score_date
    left join lifecycle_signals
        on
            account_days.account_id = lifecycle_signals.account_id
            and account_days.score_date = lifecycle_signals.score_date
    left join support_signals
        on
            account_days.account_id = support_signals.account_id
            and account_days.score_date = support_signals.score_date
    left join commercial_signals
        on
            account_days.account_id = commercial_signals.account_id
            and account_days.score_date = commercial_signals.score_date

),

points as (

    select
        {%- for category, signals in health_signals().items() %}
        {%- for signal in signals %}
        {{ round_half_up(signal_points(signal), 4) }} as {{ signal }}_points,
        {%- endfor %}
        {%- endfor %}
        signals.*
    from signals
    cross join rules

),

final as (

    select
        {%- for category in health_categories() %}
        {{ round_half_up(category_score(category), 4) }} as {{ category }}_score,
        {%- endfor %}
        points.*
    from points
    cross join rules

)

select * from final
