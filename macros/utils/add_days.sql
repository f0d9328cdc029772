{% macro add_days(days, date_expression) %}
    {#- `date_expression` moved by `days` days, as a date (dbt.dateadd returns a timestamp on
        some engines). -#}
    cast({{ dbt.dateadd('day', days, date_expression) | trim }} as date)
{%- endmacro %}
