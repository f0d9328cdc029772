{% macro round_half_up(expression, digits) -%}
    {#- `expression` rounded to `digits` decimals, halves away from zero, as a double, with
        the same result on every engine. Rounding a double directly differs by engine
        (DuckDB rounds the binary value, so 1.575 gives 1.57; Spark rounds its decimal text,
        1.58), and a last-bit difference in a sum could move a value across a rounding
        boundary, so the value goes through a 10-decimal number first. Decimal amounts need
        none of this: rounding a decimal is exact on both. -#}
    cast(round(cast({{ expression }} as decimal(38, 10)), {{ digits }}) as double)
{%- endmacro %}
