{#- Which expansion signals (seed expansion_signals) this deployment can compute: one row per
    signal. An unavailable signal earns no points and leaves the expansion score's
    denominator. -#}
with availability as (

    {{ requirement_availability(
        'signal_id', expansion_signals(), expansion_signal_requirements()
    ) }}

),

final as (

    select
        signal_id,
        is_available,
        requirements,
        missing_requirements,
        missing_data
    from availability

)

select * from final
