{% macro exact_avg(expression) %}
    {#- The mean of a floating-point expression, summed exactly: each value becomes a decimal
        with 18 decimals before the sum, so the result does not depend on the order the
        engine adds the rows in (a parallel sum of doubles differs in its last bits from run
        to run, and a mart would then differ from a rebuild of the same data). For values
        below 10^20 in magnitude. -#}
    avg(cast({{ expression }} as decimal(38, 18)))
{% endmacro %}
