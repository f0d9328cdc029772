{% macro day_numbers() %}
    {#- A select of day_number 0..9999 (about 27 years of days), built from digits so it
        runs on every engine without a series function. -#}
    select
        thousands.digit * 1000 + hundreds.digit * 100 + tens.digit * 10 + units.digit as day_number
    {%- for place in ['units', 'tens', 'hundreds', 'thousands'] %}
    {{ 'from' if loop.first else 'cross join' }} (
        {%- for digit in range(10) %}
        select {{ digit }} as digit{{ ' union all' if not loop.last }}
        {%- endfor %}
    ) as {{ place }}
    {%- endfor %}
{% endmacro %}
