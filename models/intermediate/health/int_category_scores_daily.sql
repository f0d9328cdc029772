{%- set signal_models = {
    'usage': 'int_usage_signals_daily',
    'adoption': 'int_adoption_signals_daily',
    'lifecycle': 'int_lifecycle_signals_daily',
    'support': 'int_support_signals_daily',
    'commercial': 'int_commercial_signals_daily',
} -%}
{%- set all_signals = [] -%}
{%- for category, signals in health_signals().items() -%}
{%- do all_signals.extend(signals) -%}
{%- endfor -%}
{%- set min_accounts = health_number_var('cohort_min_accounts') -%}
{%- set levels = {
    'cohort': 'score_date, signal_index, cohort_id',
    'segment': 'score_date, signal_index, segment',
    'portfolio': 'score_date, signal_index',
} -%}

with account_days as (

    select
        account_id,
        score_date,
        segment,
        lifecycle_stage,
        cohort_id
    from {{ ref('int_account_days') }}
    where is_active
    {%- if is_incremental() %}
        and score_date >= {{ incremental_recompute_date() }}
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
    where score_date >= {{ incremental_recompute_date() }}
    {%- endif %}

),
{%- endfor %}

-- one row: whether this deployment has the data behind each signal
availability as (

    {{ availability_flags('signal_name', all_signals) }}

),

rules as (

    {{ signal_rule_columns(ref('health_scoring_rules')) }}

),

-- the signals scored relatively, each by its position in the signal list: the ranking and
-- the pivot back to one row per account-day compare that number, not the name
relative_rules as (

    select
        case signal_name
            {%- for signal in all_signals %}
            when '{{ signal }}' then {{ loop.index }}
            {%- endfor %}
        end as signal_index
    from {{ ref('health_scoring_rules') }}
    where scoring_basis = 'cohort_percentile'

),

-- a signal the deployment has no data for is null on every day
signals as (

    select
        account_days.account_id,
        account_days.score_date,
        account_days.segment,
        account_days.cohort_id,
        {%- for category, signals in health_signals().items() %}
        {%- for signal in signals %}
        case
            when availability.{{ signal }}__available then {{ category }}_signals.{{ signal }}
        end as {{ signal }},
        {%- endfor %}
        {%- endfor %}
        account_days.lifecycle_stage
    from account_days
    cross join availability
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

-- Relative scoring: each value of a signal scored by cohort percentile, ranked among the
-- values of the same signal on the same day in the account's cohort (or, when fewer than
-- cohort_min_accounts accounts there have a value, its segment, else the portfolio). The
-- percentile is the mid-rank share: (accounts below + half of those equal) / accounts,
-- so a value shared by everyone sits at 0.5. Only active accounts of that day, with what
-- that day knows, are ranked: the percentile is point-in-time.
signal_values as (

    select
        signals.account_id,
        signals.score_date,
        signals.segment,
        signals.cohort_id,
        relative_rules.signal_index,
        case relative_rules.signal_index
            {%- for signal in all_signals %}
            when {{ loop.index }} then cast(signals.{{ signal }} as double)
            {%- endfor %}
        end as signal_value
    from signals
    cross join relative_rules

),

ranked_values as (

    select
        {%- for level, partition in levels.items() %}
        count(*) over (partition by {{ partition }}) as {{ level }}_accounts,
        {{ midrank_percentile('signal_value', partition) }} as {{ level }}_percentile,
        {%- endfor %}
        account_id,
        score_date,
        signal_index
    from signal_values
    where signal_value is not null

),

signal_percentiles as (

    select
        {%- for signal in all_signals %}
        {{ round_half_up(
            "max(case when signal_index = " ~ loop.index ~ " then percentile end)", 6, whole_digits=8
        ) }} as {{ signal }}_percentile,
        {%- endfor %}
        account_id,
        score_date
    from (
        select
            account_id,
            score_date,
            signal_index,
            case
                when cohort_accounts >= {{ min_accounts }} then cohort_percentile
                when segment_accounts >= {{ min_accounts }} then segment_percentile
                else portfolio_percentile
            end as percentile
        from ranked_values
    ) as chosen_percentiles
    group by account_id, score_date

),

scored_values as (

    select
        {%- for signal in all_signals %}
        signal_percentiles.{{ signal }}_percentile,
        case
            when rules.{{ signal }}__relative then signal_percentiles.{{ signal }}_percentile
            else signals.{{ signal }}
        end as {{ signal }}__scored,
        {%- endfor %}
        signals.*
    from signals
    cross join rules
    left join signal_percentiles
        on
            signals.account_id = signal_percentiles.account_id
            and signals.score_date = signal_percentiles.score_date

),

points as (

    select
        {%- for signal in all_signals %}
        {{ round_half_up(
            signal_points(signal ~ '__scored', signal, 'scored_values'), 4, whole_digits=8
        ) }}
            as {{ signal }}_points,
        {%- endfor %}
        scored_values.*
    from scored_values
    cross join rules

),

final as (

    select
        {%- for category in health_categories() %}
        {{ round_half_up(category_score(category), 4, whole_digits=8) }} as {{ category }}_score,
        {%- endfor %}
        points.account_id,
        points.score_date,
        points.segment,
        points.lifecycle_stage,
        {%- for signal in all_signals %}
        points.{{ signal }},
        points.{{ signal }}_percentile,
        points.{{ signal }}_points,
        {%- endfor %}
        points.cohort_id
    from points
    cross join rules

)

select * from final
