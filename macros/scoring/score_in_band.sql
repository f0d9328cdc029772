{% macro score_in_band(score, bands) %}
    {#- Join condition placing a 0-100 score in its band of health_bands: lower bound
        inclusive, upper bound exclusive, no upper bound for the top band. `bands` is the
        alias of the seed's rows with bounds. -#}
    {{ score }} >= {{ bands }}.lower_bound
    and ({{ bands }}.upper_bound is null or {{ score }} < {{ bands }}.upper_bound)
{%- endmacro %}
