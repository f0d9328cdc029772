{% macro round_half_up(expression, digits, whole_digits=28) -%}
    {#- `expression` rounded to `digits` decimals, halves away from zero, as a double, with
        the same result on every engine. Rounding a double directly differs by engine
        (DuckDB rounds the binary value, so 1.575 gives 1.57; Spark rounds its decimal text,
        1.58), and a last-bit difference in a sum could move a value across a rounding
        boundary, so the value goes through a 10-decimal number first. Decimal amounts need
        none of this: rounding a decimal is exact on both.
        `whole_digits` bounds the digits before the point. Pass 8 for a value known to stay
        below 100,000,000 in magnitude (a score, points, a share, a percentile): the number
        is then a 64-bit decimal, several times faster than the 128-bit default on DuckDB.
        A value beyond the bound fails the cast (an error, never a wrong number). -#}
    cast(round(cast({{ expression }} as decimal({{ whole_digits + 10 }}, 10)), {{ digits }}) as double)
{%- endmacro %}
