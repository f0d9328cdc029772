{#- Which scored signals this deployment can compute: one row per signal of
    health_signals(). A signal is available when every check it needs
    (health_signal_requirements) is met by the accepted data: an optional raw table with at
    least one accepted row, a column with values. An unavailable signal is null on every
    day and earns no points; a category with no available signal is left out of every
    score and its weight spread over the others (int_health_scores_daily). -#}
{%- set checks = health_data_requirements() -%}
{%- set requirements = health_signal_requirements() -%}

with requirement_checks as (

    {%- for name, check in checks.items() %}
    select
        '{{ name }}' as requirement,
        '{{ check[2] | replace("'", "''") }}' as requirement_label,
        coalesce({{ check[1] }}, false) as is_met
    {%- if check[1] == 'count(*) > 0' %}
    -- presence only: one row is enough, the table is not scanned
    from (select 1 as present from {{ ref(check[0]) }} limit 1) as first_row  -- noqa: AM09
    {%- else %}
    from {{ ref(check[0]) }}
    {%- endif %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

signals as (

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

signal_requirements as (

    {%- set pairs = [] %}
    {%- for signal, needed in requirements.items() %}
    {%- for requirement in needed %}
    {%- do pairs.append((signal, requirement)) %}
    {%- endfor %}
    {%- endfor %}
    {%- for signal, requirement in pairs %}
    select
        '{{ signal }}' as signal_name,
        '{{ requirement }}' as requirement
    {{- ' union all' if not loop.last }}
    {%- endfor %}

),

unmet as (

    select
        signal_requirements.signal_name,
        count(*) as unmet_requirements,
        {{ dbt.listagg(
            'requirement_checks.requirement', "', '", 'order by requirement_checks.requirement'
        ) }} as missing_requirements,
        {{ dbt.listagg(
            'requirement_checks.requirement_label', "'; '",
            'order by requirement_checks.requirement'
        ) }} as missing_data
    from signal_requirements
    inner join requirement_checks
        on signal_requirements.requirement = requirement_checks.requirement
    where not requirement_checks.is_met
    group by signal_requirements.signal_name

),

needed as (

    select
        signal_name,
        {{ dbt.listagg('requirement', "', '", 'order by requirement') }} as requirements
    from signal_requirements
    group by signal_name

),

final as (

    select
        signals.category_id,
        signals.signal_name,
        cast(signals.signal_order as integer) as signal_order,
        coalesce(unmet.unmet_requirements, 0) = 0 as is_available,
        needed.requirements,
        unmet.missing_requirements,
        unmet.missing_data
    from signals
    left join needed
        on signals.signal_name = needed.signal_name
    left join unmet
        on signals.signal_name = unmet.signal_name

)

select * from final
