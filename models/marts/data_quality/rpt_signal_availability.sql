{#- What this deployment's data lets the score use: one row per scored signal, whether it is
    available and, when not, the data it lacks, with its rule (so the summary and the report
    can say which missing source would add which signals). -#}

with availability as (

    select
        category_id,
        signal_name,
        signal_order,
        is_available,
        requirements,
        missing_requirements,
        missing_data
    from {{ ref('int_signal_availability') }}

),

rules as (

    select
        signal_name,
        scoring_basis,
        max_points,
        rule_description
    from {{ ref('health_scoring_rules') }}

),

categories as (

    select
        category_id,
        category_label,
        sort_order
    from {{ ref('health_categories') }}

),

final as (

    select
        availability.category_id,
        categories.category_label,
        cast(categories.sort_order as integer) as category_order,
        availability.signal_name,
        availability.signal_order,
        rules.rule_description,
        rules.scoring_basis,
        cast(rules.max_points as double) as max_points,
        availability.is_available,
        availability.requirements,
        availability.missing_requirements,
        availability.missing_data
    from availability
    inner join rules
        on availability.signal_name = rules.signal_name
    inner join categories
        on availability.category_id = categories.category_id

)

select * from final
