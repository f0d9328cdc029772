{% macro availability_flags(key_column, keys) %}
    {#- One row from int_signal_availability: `<key>__available` for each key, true when any
        signal whose `key_column` (signal_name or category_id) equals it is available, and
        `signal_count`. Cross-join it to null what the deployment has no data for. -#}
    select
        {%- for key in keys %}
        coalesce(
            max(case when {{ key_column }} = '{{ key }}' then is_available end), false
        ) as {{ key }}__available,
        {%- endfor %}
        count(*) as signal_count
    from {{ ref('int_signal_availability') }}
{% endmacro %}
