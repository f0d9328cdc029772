{% macro requirement_availability(key_column, keys, requirements) %}
    {#- Whether the deployment's accepted data meets what each key (a signal, a flag) needs.
        `keys` lists the keys, `requirements` maps a key to the names of its checks in
        health_data_requirements() (a key without an entry needs nothing beyond the required
        raw tables). Returns a select of (<key_column>, is_available, requirements,
        missing_requirements, missing_data): one row per key, available when every check it
        needs is met. -#}
    {%- set checks = health_data_requirements() -%}
    {%- set used = [] -%}
    {%- for key in keys -%}
        {%- for requirement in requirements.get(key, []) -%}
            {%- if requirement not in checks -%}
                {{ exceptions.raise_compiler_error("requirement_availability: '" ~ key ~ "' needs unknown check '" ~ requirement ~ "'") }}
            {%- endif -%}
            {%- if requirement not in used -%}
                {%- do used.append(requirement) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set pairs = [] -%}
    {%- for key in keys -%}
        {%- for requirement in requirements.get(key, []) -%}
            {%- do pairs.append((key, requirement)) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if pairs | length == 0 -%}
        {{ exceptions.raise_compiler_error("requirement_availability: no key needs any check") }}
    {%- endif -%}
    {%- set key_requirements -%}
        (
            {%- for key, requirement in pairs %}
            select
                '{{ key }}' as {{ key_column }},
                '{{ requirement }}' as requirement
            {{- ' union all' if not loop.last }}
            {%- endfor %}
        ) as key_requirements
    {%- endset %}
    select
        keyed.{{ key_column }},
        coalesce(unmet.unmet_requirements, 0) = 0 as is_available,
        needed.requirements,
        unmet.missing_requirements,
        unmet.missing_data
    from {{ literal_rows('keyed', key_column, keys) }}
    left join (
        select
            key_requirements.{{ key_column }},
            {{ dbt.listagg('key_requirements.requirement', "', '", 'order by key_requirements.requirement') }} as requirements
        from {{ key_requirements }}
        group by key_requirements.{{ key_column }}
    ) as needed
        on keyed.{{ key_column }} = needed.{{ key_column }}
    left join (
        select
            key_requirements.{{ key_column }},
            count(*) as unmet_requirements,
            {{ dbt.listagg(
                'requirement_checks.requirement', "', '", 'order by requirement_checks.requirement'
            ) }} as missing_requirements,
            {{ dbt.listagg(
                'requirement_checks.requirement_label', "'; '",
                'order by requirement_checks.requirement'
            ) }} as missing_data
        from {{ key_requirements }}
        inner join (
            {%- for name in used %}
            {%- set check = checks[name] %}
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
            {{- '\n            union all' if not loop.last }}
            {%- endfor %}
        ) as requirement_checks
            on key_requirements.requirement = requirement_checks.requirement
        where not requirement_checks.is_met
        group by key_requirements.{{ key_column }}
    ) as unmet
        on keyed.{{ key_column }} = unmet.{{ key_column }}
{% endmacro %}
