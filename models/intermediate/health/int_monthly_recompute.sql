{#- Whether each monthly model (tag `monthly`: the back-test, the weight calibration, the
    churn model's training rows, scorecard, predictions and reports) recomputes in this run.
    Their rows change only when a month-end passes or a month-end's horizon ends (a version
    or an observation is added): a model recomputes when its monthly key (the latest
    month-end, the latest observable month-end, the scoring config and the monthly settings)
    differs from the one it was last built with, on the incremental_lookback_days days after
    either day (late data may still change it), when its table is missing, on
    --full-refresh, with the var monthly_recompute true, and always on engines without row
    reuse (Spark rebuilds its tables). Otherwise it keeps the rows of its last build. -#}
{%- set horizon_days = var('backtest_horizon_days') -%}
{%- set lookback_days = var('incremental_lookback_days') -%}
{%- set always = monthly_recompute_always() -%}
{%- set settings_text = monthly_settings_text() -%}
{#- (name, whether its table exists) of each monthly model -#}
{%- set models = monthly_models_built(check_tables=not always) -%}

-- the as-of date of this run and the scoring config in force (int_health_config has one row)
with run_state as (

    select
        max(score_dates.as_of_date) as as_of_date,
        max(scoring_config.config_version) as config_version
    from {{ ref('int_score_dates') }} as score_dates
    cross join {{ ref('int_health_config') }} as scoring_config

),

month_ends as (

    select
        as_of_date,
        config_version,
        {{ dbt.last_day('as_of_date', 'month') }} as as_of_month_end
    from run_state

),

-- the latest month-end on or before the as-of date, and the latest whose horizon has ended
keyed as (

    select
        as_of_date,
        config_version,
        case
            when as_of_date = as_of_month_end then as_of_date
            else {{ add_days(-1, dbt.date_trunc('month', 'as_of_date')) }}
        end as latest_month_end,
        case
            when {{ add_days(-horizon_days, 'as_of_date') }}
                = {{ dbt.last_day(add_days(-horizon_days, 'as_of_date'), 'month') }}
                then {{ add_days(-horizon_days, 'as_of_date') }}
            else {{ add_days(-1, dbt.date_trunc('month', add_days(-horizon_days, 'as_of_date'))) }}
        end as latest_observable_month_end
    from month_ends

),

current_keys as (

    select
        as_of_date,
        latest_month_end,
        latest_observable_month_end,
        {{ dbt.concat([
            "cast(latest_month_end as " ~ dbt.type_string() ~ ")", "'|'",
            "cast(latest_observable_month_end as " ~ dbt.type_string() ~ ")", "'|'",
            'config_version', "'|'",
            dbt.hash(sql_string_literal(settings_text)),
        ]) }} as monthly_key,
        (
            as_of_date > latest_month_end
            and as_of_date <= {{ add_days(lookback_days, 'latest_month_end') }}
        )
        or (
            as_of_date > {{ add_days(horizon_days, 'latest_observable_month_end') }}
            and as_of_date
            <= {{ add_days(horizon_days + lookback_days, 'latest_observable_month_end') }}
        ) as is_settling
    from keyed

),

recorded as (

    {%- if always and target.type == 'spark' %}
    -- (no keys are recorded on Spark: every model recomputes)
    select
        cast(null as {{ dbt.type_string() }}) as model_name,
        cast(null as {{ dbt.type_string() }}) as monthly_key
    where 1 = 0
    {%- else %}
    select
        model_name,
        monthly_key
    from (
        select
            model_name,
            monthly_key,
            row_number() over (partition by model_name order by recorded_at desc) as build_rank
        from {{ monthly_keys_relation() }}
    ) as builds
    where build_rank = 1
    {%- endif %}

),

monthly_models as (

    {%- if models | length == 0 %}
    select cast(null as {{ dbt.type_string() }}) as model_name
    where 1 = 0
    {%- else %}
    select model_name
    from {{ literal_rows('listed', 'model_name', models | map(attribute=0) | list) }}
    {%- endif %}

),

final as (

    select
        monthly_models.model_name,
        current_keys.monthly_key,
        recorded.monthly_key as recorded_monthly_key,
        current_keys.latest_month_end,
        current_keys.latest_observable_month_end,
        case
            {%- if always %}
            when true then 'always'
            {%- endif %}
            {%- for name, has_table in models if not has_table %}
            when monthly_models.model_name = '{{ name }}' then 'no_table'
            {%- endfor %}
            when recorded.monthly_key is null then 'no_record'
            when recorded.monthly_key != current_keys.monthly_key then 'new_key'
            when current_keys.is_settling then 'settling'
        end as recompute_reason
    from monthly_models
    cross join current_keys
    left join recorded
        on monthly_models.model_name = recorded.model_name

)

select
    model_name,
    monthly_key,
    recorded_monthly_key,
    latest_month_end,
    latest_observable_month_end,
    recompute_reason,
    recompute_reason is not null as needs_recompute
from final
