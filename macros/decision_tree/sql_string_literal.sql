{% macro sql_string_literal(text) %}
    {#- `text` as a SQL string literal, escaped for the engine. -#}
    {{ return(adapter.dispatch('sql_string_literal', 'customer_health')(text)) }}
{% endmacro %}

{% macro default__sql_string_literal(text) %}
    {{ return("'" ~ text | replace("'", "''") ~ "'") }}
{% endmacro %}

{% macro spark__sql_string_literal(text) %}
    {#- Spark SQL escapes with backslashes. -#}
    {{ return("'" ~ text | replace('\\', '\\\\') | replace("'", "\\'") ~ "'") }}
{% endmacro %}
