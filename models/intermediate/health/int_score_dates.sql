{#- An explicit as-of or first scoring date outside the product data fails the run with a
    message naming the var, instead of building empty marts; so does a span longer than the
    day spine (day_numbers: 10,000 days). A run or build looks the bounds up once and builds
    the spine from them as literals; otherwise (compile, docs) the SQL computes them. -#}
{%- set looked_up = none -%}
{%- if execute and flags.WHICH in ('run', 'build') -%}
    {%- set bounds_query -%}
        select
            min(activity_date),
            max(activity_date),
            {{ health_as_of_date() }}
        from {{ ref('stg_product__user_activity_daily') }}
    {%- endset -%}
    {%- set bounds = run_query(bounds_query).rows[0] -%}
    {%- set first_activity, last_activity, as_of = bounds[0], bounds[1], bounds[2] -%}
    {%- if first_activity is none -%}
        {{ exceptions.raise_compiler_error('No accepted product activity (stg_product__user_activity_daily is empty): nothing can be scored. See rpt_raw_table_quality and the quarantine tables.') }}
    {%- endif -%}
    {%- if var('as_of_date') and (as_of | string < first_activity | string or as_of | string > last_activity | string) -%}
        {{ exceptions.raise_compiler_error("var 'as_of_date' (" ~ as_of ~ ') is outside the product data, ' ~ first_activity ~ ' .. ' ~ last_activity) }}
    {%- endif -%}
    {%- set scoring_start = var('scoring_start_date') -%}
    {%- if scoring_start and (health_date_var('scoring_start_date') is not none) and (scoring_start | string > as_of | string) -%}
        {{ exceptions.raise_compiler_error("var 'scoring_start_date' (" ~ scoring_start ~ ') is after the as-of date ' ~ as_of) }}
    {%- endif -%}
    {%- set first_score = scoring_start | string if scoring_start else first_activity | string -%}
    {%- if (modules.datetime.date.fromisoformat(as_of | string) - modules.datetime.date.fromisoformat(first_score[:10])).days > 9999 -%}
        {{ exceptions.raise_compiler_error('The scoring span ' ~ first_score ~ ' .. ' ~ as_of ~ ' is longer than 10,000 days: set var scoring_start_date, or check var min_plausible_date') }}
    {%- endif -%}
    {%- set looked_up = {
        'first_activity': date_literal(as_datetime(first_activity)),
        'as_of': date_literal(as_datetime(as_of)),
    } -%}
{%- endif -%}

{%- set scoring_start_date = health_date_var('scoring_start_date') %}
{%- set first_full_window = health_number_var('usage_window_days') - 1 %}

with
{%- if looked_up %}

bounds as (

    select
        {{ looked_up.first_activity }} as product_data_start_date,
        {{ scoring_start_date or add_days(first_full_window, looked_up.first_activity) }}
            as first_score_date,
        {{ looked_up.as_of }} as last_score_date

),
{%- else %}

activity as (

    select activity_date from {{ ref('stg_product__user_activity_daily') }}

),

bounds as (

    select
        min(activity_date) as product_data_start_date,
        {%- if scoring_start_date is not none %}
        {{ scoring_start_date }} as first_score_date,
        {%- else %}
        {{ add_days(first_full_window, 'min(activity_date)') }} as first_score_date,
        {%- endif %}
        {{ health_as_of_date() }} as last_score_date
    from activity

),
{%- endif %}

day_numbers as (

    {{ day_numbers() }}

),

final as (

    select
        {{ add_days('day_numbers.day_number', 'bounds.first_score_date') }} as score_date,
        bounds.product_data_start_date,
        bounds.last_score_date as as_of_date
    from bounds
    cross join day_numbers
    where
        day_numbers.day_number
        <= {{ dbt.datediff('bounds.first_score_date', 'bounds.last_score_date', 'day') }}

)

select * from final
