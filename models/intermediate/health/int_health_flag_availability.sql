{#- Which red flags and green lights this deployment can evaluate: one row per flag of
    health_flags(). A flag is evaluated when every check it needs (health_flag_requirements)
    is met by the accepted data; otherwise it is null on every day, never false, and
    missing_data says why. -#}
with availability as (

    {{ requirement_availability('flag_id', health_flags(), health_flag_requirements()) }}

),

final as (

    select
        flag_id,
        is_available as is_evaluated,
        requirements,
        missing_requirements,
        missing_data
    from availability

)

select * from final
