{% macro health_categories() %}
    {#- The five score categories, in display order. -#}
    {{ return(health_signals().keys() | list) }}
{% endmacro %}
