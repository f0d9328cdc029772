{% macro payload_text(columns, prefix) %}
    {#- Pieces for dbt.concat: every column as text, nulls marked by the record-separator
        character and columns split by the unit separator, so ('ab', 'c') and ('a', 'bc')
        differ. -#}
    {%- set pieces = [] -%}
    {%- for column in columns -%}
        {%- if not loop.first -%}{%- do pieces.append("chr(31)") -%}{%- endif -%}
        {%- do pieces.append("coalesce(cast(" ~ prefix ~ column.name ~ " as " ~ dbt.type_string() ~ "), chr(30))") -%}
    {%- endfor -%}
    {{ return(pieces) }}
{% endmacro %}
