{% macro health_as_of_date() %}
    {#- The scoring date as a SQL date expression: the `as_of_date` var when set
        (YYYY-MM-DD; anything else fails the cast with a clear error), otherwise the last
        day with accepted product activity. -#}
    {%- set as_of_date = var('as_of_date', none) -%}
    {%- if as_of_date -%}
        {{ return("cast('" ~ as_of_date ~ "' as date)") }}
    {%- else -%}
        {{ return("(select max(activity_date) from " ~ ref('stg_product__user_activity_daily') ~ ")") }}
    {%- endif -%}
{% endmacro %}
