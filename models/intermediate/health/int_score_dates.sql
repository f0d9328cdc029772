with activity as (

    select activity_date from {{ ref('stg_product__user_activity_daily') }}

),

bounds as (

    select
        min(activity_date) as product_data_start_date,
        {%- if var('scoring_start_date') %}
        cast('{{ var("scoring_start_date") }}' as date) as first_score_date,
        {%- else %}
        {{ add_days(var('usage_window_days') - 1, 'min(activity_date)') }} as first_score_date,
        {%- endif %}
        {{ health_as_of_date() }} as last_score_date
    from activity

),

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
