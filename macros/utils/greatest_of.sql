{% macro greatest_of(expressions) -%}
    {#- The largest non-null value of `expressions` (a list of SQL expressions); null when all
        are null. Spark's greatest needs two arguments or more, so one expression is given
        as it is. -#}
    {%- if expressions | length == 1 -%}
    {{ expressions[0] }}
    {%- else -%}
    greatest(
        {{ expressions | join(',\n        ') }}
    )
    {%- endif %}
{%- endmacro %}
