{#- Which scored signals this deployment can compute: one row per signal of
    health_signals(). A signal is available when every check it needs
    (health_signal_requirements) is met by the accepted data: an optional raw table with at
    least one accepted row, a column with values. An unavailable signal is null on every
    day and earns no points; a category with no available signal is left out of every
    score and its weight spread over the others (int_health_scores_daily). -#}
{%- set signal_names = [] -%}
{%- for signals in health_signals().values() -%}
{%- do signal_names.extend(signals) -%}
{%- endfor -%}

with signals as (

    {%- for category, signals in health_signals().items() %}
    {%- set outer_last = loop.last %}
    {%- for signal in signals %}
    select
        '{{ category }}' as category_id,
        '{{ signal }}' as signal_name,
        {{ loop.index }} as signal_order
    {{- ' union all' if not (outer_last and loop.last) }}
    {%- endfor %}
    {%- endfor %}

),

availability as (

    {{ requirement_availability('signal_name', signal_names, health_signal_requirements()) }}

),

final as (

    select
        signals.category_id,
        signals.signal_name,
        cast(signals.signal_order as integer) as signal_order,
        availability.is_available,
        availability.requirements,
        availability.missing_requirements,
        availability.missing_data
    from signals
    inner join availability
        on signals.signal_name = availability.signal_name

)

select * from final
