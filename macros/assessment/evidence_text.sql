{% macro whole_number_text(expression) -%}
    {#- A number as text, rounded half away from zero to a whole number (`12`), the same on
        every engine. -#}
    cast(cast(round(cast({{ expression }} as decimal(38, 10)), 0) as bigint) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro percent_text(share) -%}
    {#- A share (0.123) as a whole percent with its sign (`12%`). -#}
    {{ dbt.concat([whole_number_text('100 * (' ~ share ~ ')'), "'%'"]) }}
{%- endmacro %}

{% macro one_decimal_text(expression) -%}
    {#- A number as text with one decimal (`12.5`), rounded half away from zero. -#}
    cast(cast(round(cast({{ expression }} as decimal(38, 10)), 1) as decimal(38, 1)) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro date_text(expression) -%}
    {#- A date as `YYYY-MM-DD` text. -#}
    cast({{ expression }} as {{ dbt.type_string() }})
{%- endmacro %}

{% macro count_text(expression, singular, plural) -%}
    {#- A count with its noun, singular for 1 (`1 invoice`, `3 invoices`). -#}
    {{ dbt.concat([
        whole_number_text(expression),
        "case when " ~ expression ~ " = 1 then ' " ~ singular ~ "' else ' " ~ plural ~ "' end",
    ]) }}
{%- endmacro %}
