{% macro generate_schema_name(custom_schema_name, node) -%}
    {#- Custom schemas are used as given (`staging`, `quarantine`, `marts`) so BI tools
        and the CRM sync see stable names; without one, the target schema. -#}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
